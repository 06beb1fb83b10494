/**
 * Wall-clock arithmetic in IANA time zones with Node's Intl only (no dependency).
 *
 * Billing periods are defined in the customer's local calendar ("the 1st of the month in
 * Europe/Berlin"), but stored and compared as UTC instants. These two functions convert between
 * the two; every other period computation is plain calendar arithmetic on {@link LocalDateTime}.
 */

/** A wall-clock date and time in some zone; month is 1–12. */
export interface LocalDateTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True for a zone name Intl knows (e.g. "America/New_York", "UTC"). */
export function isValidTimeZone(timeZone: string): boolean {
  if (timeZone === "") return false;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock time of `instant` in `timeZone`. */
export function toLocal(instant: Date, timeZone: string): LocalDateTime {
  const ms = instant.getTime();
  const parts = formatter(timeZone).formatToParts(instant);
  const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return {
    year: get("year"),
    month: get("month"),
    day: get("day"),
    hour: get("hour"),
    minute: get("minute"),
    second: get("second"),
    millisecond: ((ms % 1000) + 1000) % 1000,
  };
}

/** UTC offset of the zone at `ms`, in milliseconds (e.g. -5 h for New York in winter). */
function offsetAt(ms: number, timeZone: string): number {
  const l = toLocal(new Date(ms), timeZone);
  return Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second, l.millisecond) - ms;
}

function asUtc(l: LocalDateTime): number {
  return Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second, l.millisecond);
}

/**
 * The instant at which the wall clock in `timeZone` shows `local`.
 *
 * Ambiguous times (a fall-back hour that happens twice) resolve to the earlier instant; times
 * that do not exist (a spring-forward gap) move forward by the gap, as Temporal's "compatible"
 * disambiguation does: 02:30 on the day New York springs forward is 03:30 EDT.
 */
export function fromLocal(local: LocalDateTime, timeZone: string): Date {
  const wall = asUtc(local);
  const DAY = 86_400_000;
  const before = offsetAt(wall - DAY, timeZone);
  const after = offsetAt(wall + DAY, timeZone);
  const candidates = [...new Set([before, after])]
    .map((offset) => wall - offset)
    .filter((ms) => asUtc(toLocal(new Date(ms), timeZone)) === wall)
    .sort((a, b) => a - b);
  if (candidates.length > 0) return new Date(candidates[0]!);
  // In a gap: the offset in force before it maps the wall time past the gap.
  return new Date(wall - before);
}

/** Days in a month (month 1–12), leap years included. */
export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

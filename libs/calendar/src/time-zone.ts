/**
 * Wall-clock arithmetic in IANA time zones with Node's Intl only (no dependency).
 *
 * Billing periods and forecast days are defined in the customer's local calendar ("the 1st of the
 * month in Europe/Berlin"), but stored and compared as UTC instants. `toLocal` and `fromLocal`
 * convert between the two; everything else is plain calendar arithmetic on local values.
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

/** A local calendar date; month is 1–12. */
export interface LocalDate {
  year: number;
  month: number;
  day: number;
}

const DAY_MS = 86_400_000;

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
  // UTC has no offset to look up: Date's own UTC fields, without Intl (most of a revenue forecast's period arithmetic).
  if (timeZone === "UTC") {
    return {
      year: instant.getUTCFullYear(),
      month: instant.getUTCMonth() + 1,
      day: instant.getUTCDate(),
      hour: instant.getUTCHours(),
      minute: instant.getUTCMinutes(),
      second: instant.getUTCSeconds(),
      millisecond: instant.getUTCMilliseconds(),
    };
  }
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

/** A wall-clock reading written as if it were UTC (milliseconds): local calendar arithmetic with Date.UTC. */
function asUtc(l: LocalDateTime): number {
  return Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second, l.millisecond);
}

/** UTC offset of the zone at `ms`, in milliseconds (e.g. -5 h for New York in winter). */
function offsetAt(ms: number, timeZone: string): number {
  return asUtc(toLocal(new Date(ms), timeZone)) - ms;
}

/**
 * The instant at which the wall clock in `timeZone` shows `wall` (a local reading as UTC ms).
 * Ambiguous times (a fall-back hour that happens twice) resolve to the earlier instant; times that
 * do not exist (a spring-forward gap) move forward by the gap, as Temporal's "compatible"
 * disambiguation does: 02:30 on the day New York springs forward is 03:30 EDT.
 */
function instantOfWall(wall: number, timeZone: string): Date {
  const before = offsetAt(wall - DAY_MS, timeZone);
  const after = offsetAt(wall + DAY_MS, timeZone);
  const candidates = [...new Set([before, after])]
    .map((offset) => wall - offset)
    .filter((ms) => asUtc(toLocal(new Date(ms), timeZone)) === wall)
    .sort((a, b) => a - b);
  if (candidates.length > 0) return new Date(candidates[0]!);
  // In a gap: the offset in force before it maps the wall time past the gap.
  return new Date(wall - before);
}

/** The instant at which the wall clock in `timeZone` shows `local` (see instantOfWall for DST). */
export function fromLocal(local: LocalDateTime, timeZone: string): Date {
  return instantOfWall(asUtc(local), timeZone);
}

/** Days in a month (month 1–12), leap years included. */
export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** The local date of `instant` in `timeZone`. */
export function localDateOf(instant: Date, timeZone: string): LocalDate {
  const { year, month, day } = toLocal(instant, timeZone);
  return { year, month, day };
}

/** Milliseconds since local midnight of `instant`'s wall-clock time in `timeZone`. */
export function localTimeOfDay(instant: Date, timeZone: string): number {
  const l = toLocal(instant, timeZone);
  return ((l.hour * 60 + l.minute) * 60 + l.second) * 1000 + l.millisecond;
}

/**
 * The instant the wall clock in `timeZone` shows `date` at `timeOfDayMs` (default midnight).
 * Ambiguous times take the earlier instant; times in a DST gap (00:00 in Santiago on the day it
 * springs forward) move to the first instant after the gap.
 */
export function atLocalTime(date: LocalDate, timeZone: string, timeOfDayMs = 0): Date {
  return instantOfWall(Date.UTC(date.year, date.month - 1, date.day) + timeOfDayMs, timeZone);
}

/** The local date `days` after `date` (negative goes back). */
export function addDays(date: LocalDate, days: number): LocalDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** Day of the week of a local date: 0 = Sunday … 6 = Saturday. */
export function weekdayOf(date: LocalDate): number {
  return new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay();
}

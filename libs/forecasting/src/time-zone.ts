/**
 * The two wall-clock conversions forecasting needs, with Node's Intl only: the local date of an
 * instant, and the instant a local midnight happens. (Rating's `time-zone.ts` does the full
 * date-and-time version for billing periods; forecasting only ever needs local days.)
 */

/** A local calendar date; month is 1–12. */
export interface LocalDate {
  year: number;
  month: number;
  day: number;
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

/** True for a zone name Intl knows ("Europe/Berlin", "UTC"). */
export function isValidTimeZone(timeZone: string): boolean {
  if (timeZone === "") return false;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

function wallClockAsUtc(ms: number, timeZone: string): number {
  const parts = formatter(timeZone).formatToParts(new Date(ms));
  const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"), ((ms % 1000) + 1000) % 1000);
}

/** The local date of `instant` in `timeZone`. */
export function localDateOf(instant: Date, timeZone: string): LocalDate {
  const wall = new Date(wallClockAsUtc(instant.getTime(), timeZone));
  return { year: wall.getUTCFullYear(), month: wall.getUTCMonth() + 1, day: wall.getUTCDate() };
}

/** Milliseconds since local midnight of `instant`'s wall-clock time in `timeZone`. */
export function localTimeOfDay(instant: Date, timeZone: string): number {
  const wall = wallClockAsUtc(instant.getTime(), timeZone);
  return ((wall % 86_400_000) + 86_400_000) % 86_400_000;
}

/**
 * The instant the wall clock in `timeZone` shows `date` at `timeOfDayMs` (default midnight).
 * Ambiguous times take the earlier instant; times in a DST gap (00:00 in Santiago on the day it
 * springs forward) move to the first instant after the gap.
 */
export function atLocalTime(date: LocalDate, timeZone: string, timeOfDayMs = 0): Date {
  const wall = Date.UTC(date.year, date.month - 1, date.day) + timeOfDayMs;
  const DAY = 86_400_000;
  const offsets = [...new Set([wall - DAY, wall + DAY].map((ms) => wallClockAsUtc(ms, timeZone) - ms))];
  const exact = offsets.map((offset) => wall - offset).filter((ms) => wallClockAsUtc(ms, timeZone) === wall);
  if (exact.length > 0) return new Date(Math.min(...exact));
  // In a gap: the offset in force before it lands past the gap.
  return new Date(wall - offsets[0]!);
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

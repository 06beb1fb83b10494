import { daysInMonth, fromLocal, toLocal, type LocalDateTime } from "@tally/calendar";

/**
 * Billing periods: the ONE place period boundaries are computed. Pure (no clock, no I/O).
 *
 * A period is a half-open UTC range [start, end). Boundaries are placed in the subscription's
 * IANA time zone, so a monthly period in Europe/Berlin starts at local midnight on the 1st
 * whatever the UTC offset of that day, and a "day" across a DST change lasts 23 or 25 hours.
 */

export type BillingInterval = "day" | "month" | "year";
export type BillingAnchor = "calendar" | "anniversary";

export interface Period {
  start: Date;
  end: Date;
}

export interface PeriodRule {
  interval: BillingInterval;
  anchor: BillingAnchor;
  timeZone: string;
  /**
   * Where the periods start: the subscription's start time (or the start of a later phase with
   * another interval). CALENDAR: the first period runs from here to the next calendar boundary.
   * ANNIVERSARY: boundaries repeat this local date and time every interval.
   */
  origin: Date;
}

/** The period containing `t`; `t` before the origin yields the first period. */
export function periodAt(rule: PeriodRule, t: Date): Period {
  const at = t.getTime() < rule.origin.getTime() ? rule.origin : t;
  return rule.anchor === "anniversary" ? anniversaryPeriod(rule, at) : calendarPeriod(rule, at);
}

/**
 * The NOMINAL period containing `t`: the whole interval, never cut at the origin. For CALENDAR
 * the whole day, month or year (a first period that starts mid-month is part of it); for
 * ANNIVERSARY the same as `periodAt` (its periods start at the origin). Partial periods are
 * prorated against its length: see `nominalPeriodOf` in subscription.ts.
 */
export function nominalPeriodAt(rule: PeriodRule, t: Date): Period {
  if (rule.anchor === "anniversary") return periodAt(rule, t);
  return calendarPeriod(rule, t, false);
}

/** The first period of the rule (starting at its origin). */
export function firstPeriod(rule: PeriodRule): Period {
  return periodAt(rule, rule.origin);
}

/** The period right after `period`. */
export function nextPeriod(rule: PeriodRule, period: Period): Period {
  return periodAt(rule, period.end);
}

function calendarPeriod(rule: PeriodRule, t: Date, clipAtOrigin = true): Period {
  const l = toLocal(t, rule.timeZone);
  let startLocal: LocalDateTime;
  let endLocal: LocalDateTime;
  switch (rule.interval) {
    case "day":
      startLocal = midnight(l.year, l.month, l.day);
      endLocal = addDays(startLocal, 1);
      break;
    case "month":
      startLocal = midnight(l.year, l.month, 1);
      endLocal = l.month === 12 ? midnight(l.year + 1, 1, 1) : midnight(l.year, l.month + 1, 1);
      break;
    case "year":
      startLocal = midnight(l.year, 1, 1);
      endLocal = midnight(l.year + 1, 1, 1);
      break;
  }
  // Local times in a DST gap do not exist, so `t` is never before its own day's start.
  let start = fromLocal(startLocal, rule.timeZone);
  const end = fromLocal(endLocal, rule.timeZone);
  if (clipAtOrigin && start.getTime() < rule.origin.getTime()) start = rule.origin;
  return { start, end };
}

function anniversaryPeriod(rule: PeriodRule, t: Date): Period {
  const origin = toLocal(rule.origin, rule.timeZone);
  const l = toLocal(t, rule.timeZone);
  // Estimate the period index from the local calendar, then correct by at most a step or two.
  let k: number;
  switch (rule.interval) {
    case "day":
      k = Math.floor((Date.UTC(l.year, l.month - 1, l.day) - Date.UTC(origin.year, origin.month - 1, origin.day)) / 86_400_000);
      break;
    case "month":
      k = (l.year - origin.year) * 12 + (l.month - origin.month);
      break;
    case "year":
      k = l.year - origin.year;
      break;
  }
  k = Math.max(0, k);
  const boundary = (i: number): Date => (i === 0 ? rule.origin : fromLocal(shift(origin, rule.interval, i), rule.timeZone));
  while (k > 0 && boundary(k).getTime() > t.getTime()) k--;
  while (boundary(k + 1).getTime() <= t.getTime()) k++;
  return { start: boundary(k), end: boundary(k + 1) };
}

/**
 * The origin's local date-time moved by `n` intervals, keeping the anchor day and clamping it to
 * the month's end: Jan 31 → Feb 28 (29 in leap years) → Mar 31; Feb 29 → Feb 28 next year.
 */
function shift(origin: LocalDateTime, interval: BillingInterval, n: number): LocalDateTime {
  switch (interval) {
    case "day":
      return addDays(origin, n);
    case "month": {
      const index = origin.year * 12 + (origin.month - 1) + n;
      const year = Math.floor(index / 12);
      const month = (index % 12) + 1;
      return { ...origin, year, month, day: Math.min(origin.day, daysInMonth(year, month)) };
    }
    case "year": {
      const year = origin.year + n;
      return { ...origin, year, day: Math.min(origin.day, daysInMonth(year, origin.month)) };
    }
  }
}

function midnight(year: number, month: number, day: number): LocalDateTime {
  return { year, month, day, hour: 0, minute: 0, second: 0, millisecond: 0 };
}

function addDays(l: LocalDateTime, n: number): LocalDateTime {
  const d = new Date(Date.UTC(l.year, l.month - 1, l.day + n));
  return { ...l, year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** Length of a range in whole milliseconds. */
export function durationMs(range: Period): number {
  return range.end.getTime() - range.start.getTime();
}

export function contains(range: Period, t: Date): boolean {
  return t.getTime() >= range.start.getTime() && t.getTime() < range.end.getTime();
}

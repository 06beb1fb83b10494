import { Decimal } from "@tally/pricing";
import { ForecastInputError } from "./errors";
import { atLocalTime, isValidTimeZone } from "@tally/calendar";

/** A stated reporting window: a calendar month or quarter in an IANA time zone. */
export type CalendarWindowSpec =
  | { kind: "month"; year: number; month: number; timeZone: string }
  | { kind: "quarter"; year: number; quarter: number; timeZone: string };

/** A half-open UTC range `[start, end)`. */
export interface TimeRange {
  start: Date;
  end: Date;
}

/** The window's instants: local midnight of its first day to local midnight after its last. */
export function calendarWindow(spec: CalendarWindowSpec): TimeRange {
  if (!isValidTimeZone(spec.timeZone)) throw new ForecastInputError("time_zone", `unknown time zone "${spec.timeZone}"`);
  if (!Number.isInteger(spec.year) || spec.year < 1970 || spec.year > 9999) throw new ForecastInputError("year", `must be 1970–9999, got ${spec.year}`);
  let firstMonth: number;
  let months: number;
  if (spec.kind === "month") {
    if (!Number.isInteger(spec.month) || spec.month < 1 || spec.month > 12) throw new ForecastInputError("month", `must be 1–12, got ${spec.month}`);
    firstMonth = spec.month;
    months = 1;
  } else {
    if (!Number.isInteger(spec.quarter) || spec.quarter < 1 || spec.quarter > 4) throw new ForecastInputError("quarter", `must be 1–4, got ${spec.quarter}`);
    firstMonth = 3 * (spec.quarter - 1) + 1;
    months = 3;
  }
  const endMonth = firstMonth + months;
  return {
    start: atLocalTime({ year: spec.year, month: firstMonth, day: 1 }, spec.timeZone),
    end: atLocalTime({ year: spec.year + Math.floor((endMonth - 1) / 12), month: ((endMonth - 1) % 12) + 1, day: 1 }, spec.timeZone),
  };
}

/** One billing of a subscription: the range it charges for and when its invoice is issued. */
export interface Billing {
  /** The (possibly partial) period the invoice covers. */
  covers: TimeRange;
  /** When the invoice is issued: the period end, or the cancel time for a final invoice. */
  billedAt: Date;
}

export interface WindowShare {
  /** The invoice is issued inside the window: on an invoiced-revenue basis, all of it counts. */
  billedInWindow: boolean;
  /** Share of the covered range inside the window (exact: milliseconds over milliseconds), for an accrual view. */
  accruedFraction: Decimal;
}

/**
 * Which part of a billing falls in a window. "Revenue for December" on an invoiced basis counts
 * every invoice issued in December in full — periods ending in it, prorations and the finals of
 * subscriptions canceled in it; the accrued fraction spreads a period over the windows it spans.
 */
export function windowShare(billing: Billing, window: TimeRange): WindowShare {
  const at = billing.billedAt.getTime();
  const span = billing.covers.end.getTime() - billing.covers.start.getTime();
  const overlap = Math.min(billing.covers.end.getTime(), window.end.getTime()) - Math.max(billing.covers.start.getTime(), window.start.getTime());
  return {
    billedInWindow: at >= window.start.getTime() && at < window.end.getTime(),
    accruedFraction: span > 0 ? new Decimal(Math.max(overlap, 0)).div(span) : new Decimal(at >= window.start.getTime() && at < window.end.getTime() ? 1 : 0),
  };
}

/**
 * The period ranges of a subscription that are billed inside the window, given its period
 * boundaries (ascending instants: start of the first period … end of the last) and, if canceled,
 * its cancel time (the last period is then cut there and billed then).
 */
export function billingsInWindow(boundaries: readonly Date[], window: TimeRange, canceledAt?: Date): Billing[] {
  const billings: Billing[] = [];
  for (let i = 0; i + 1 < boundaries.length; i++) {
    const start = boundaries[i]!;
    let end = boundaries[i + 1]!;
    if (canceledAt && canceledAt <= start) break;
    if (canceledAt && canceledAt < end) end = canceledAt;
    const billing = { covers: { start, end }, billedAt: end };
    if (windowShare(billing, window).billedInWindow) billings.push(billing);
  }
  return billings;
}

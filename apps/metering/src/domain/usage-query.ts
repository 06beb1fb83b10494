import { DAY_MS, HOUR_MS, BOUNDS, MINUTE_MS } from "./bounds";
import type { MeterSpec } from "./meter";
import { describeTimestamp, timestampToDate, type TimestampInput } from "./timestamp";
import { Violations } from "@tally/platform/errors";
import { quote, type Violation, type ViolationCode } from "./violation";

export type WindowSize = "none" | "hour" | "day";

/** A QueryUsage request as received; `windowSize` is undefined for an unknown enum value. */
export interface UsageQueryInput {
  customerId: string;
  meterKey: string;
  from: TimestampInput | undefined;
  to: TimestampInput | undefined;
  windowSize: WindowSize | undefined;
  timeZone: string;
  groupBy: readonly string[];
}

/** A validated query: [from, to) on whole milliseconds, the precision of event times. */
export interface UsageQuery {
  customerId: string;
  meterKey: string;
  from: Date;
  to: Date;
  windowSize: WindowSize;
  /** IANA zone DAY windows follow; "UTC" otherwise. */
  timeZone: string;
  groupBy: string[];
}

export type UsageQueryValidation = { ok: true; query: UsageQuery } | { ok: false; violations: readonly Violation[] };

/**
 * Validates a usage query. `from` and `to` must fall on whole milliseconds, the precision event
 * times are kept at (a finer edge could not be answered exactly); a range cutting a one-minute
 * rollup bucket is answered for that minute from raw events (see {@link splitAtWholeMinutes}).
 * An omitted `to` is the end of the current minute, so that it includes `now`.
 */
export function validateUsageQuery(input: UsageQueryInput, now: Date): UsageQueryValidation {
  const v = new Violations<ViolationCode>();
  if (input.customerId === "") v.add("customer_id", "customer_id is required", "required");
  if (input.meterKey === "") v.add("meter_key", "meter_key is required", "required");
  const from = input.from ? wholeMillisecond(v, "from", input.from) : undefined;
  if (!input.from) v.add("from", "from is required", "required");
  const to = input.to ? wholeMillisecond(v, "to", input.to) : new Date((Math.floor(now.getTime() / MINUTE_MS) + 1) * MINUTE_MS);
  if (from && to && to.getTime() <= from.getTime()) {
    v.add("to", `to ${to.toISOString()} must be after from ${from.toISOString()}`, "out_of_range");
  }
  const windowSize = input.windowSize;
  if (windowSize === undefined) v.add("window_size", "window_size must be NONE, HOUR or DAY", "invalid_value");
  const timeZone = windowSize === "day" ? input.timeZone || "UTC" : "UTC";
  if (windowSize === "day" && !isKnownTimeZone(timeZone)) {
    v.add("time_zone", `time_zone ${quote(timeZone)} is not an IANA time zone (e.g. "Europe/Paris")`, "unknown_time_zone");
  }
  if (from && to && windowSize && to > from) {
    const windows = windowCount(from, to, windowSize);
    if (windows > BOUNDS.maxQueryWindows) {
      v.add("to", `the range spans ${windows} ${windowSize} windows, at most ${BOUNDS.maxQueryWindows} are allowed`, "out_of_range");
    }
  }
  const seen = new Set<string>();
  input.groupBy.forEach((property, i) => {
    if (property === "") v.add(`group_by[${i}]`, "group_by entries must not be empty", "required");
    if (seen.has(property)) v.add(`group_by[${i}]`, `group_by lists ${quote(property)} twice`, "duplicate");
    seen.add(property);
  });
  if (!v.empty || !from || !to || !windowSize) return { ok: false, violations: v.all };
  return {
    ok: true,
    query: { customerId: input.customerId, meterKey: input.meterKey, from, to, windowSize, timeZone, groupBy: [...input.groupBy] },
  };
}

/** The query's group_by must be a subset of the meter's. */
export function checkQueryGroupBy(query: UsageQuery, meter: MeterSpec): readonly Violation[] {
  const v = new Violations<ViolationCode>();
  query.groupBy.forEach((property, i) => {
    if (!meter.groupBy.includes(property)) {
      v.add(`group_by[${i}]`, `meter ${quote(meter.key)} does not group by ${quote(property)}`, "unknown_reference");
    }
  });
  return v.all;
}

function wholeMillisecond(v: Violations<ViolationCode>, field: string, ts: TimestampInput): Date | undefined {
  const date = timestampToDate(ts);
  if (!date) {
    v.add(field, `${field} ${describeTimestamp(ts)} is not a valid timestamp`, "invalid_timestamp");
    return undefined;
  }
  if (ts.nanos % 1_000_000 !== 0) {
    v.add(field, `${field} ${describeTimestamp(ts)} must be on a whole millisecond (event times are kept to the millisecond)`, "not_whole_millisecond");
    return undefined;
  }
  return date;
}

/** A query range cut where the per-minute rollups can answer and where raw events must. */
export interface RangeSplit {
  /** Whole minutes inside [from, to), answered from rollups; empty when start >= end. */
  wholeMinutes: { start: Date; end: Date };
  /** Partial minutes at either edge (at most two ranges, each under two minutes), answered from raw events. */
  partialEdges: { start: Date; end: Date }[];
}

/** Splits [from, to) into its whole minutes and the partial minutes at its edges. */
export function splitAtWholeMinutes(from: Date, to: Date): RangeSplit {
  const firstWhole = Math.ceil(from.getTime() / MINUTE_MS) * MINUTE_MS;
  const lastWhole = Math.floor(to.getTime() / MINUTE_MS) * MINUTE_MS;
  if (firstWhole >= lastWhole) {
    // No whole minute inside (under two minutes long): all of it from raw events.
    return { wholeMinutes: { start: from, end: from }, partialEdges: [{ start: from, end: to }] };
  }
  const partialEdges: { start: Date; end: Date }[] = [];
  if (firstWhole > from.getTime()) partialEdges.push({ start: from, end: new Date(firstWhole) });
  if (lastWhole < to.getTime()) partialEdges.push({ start: new Date(lastWhole), end: to });
  return { wholeMinutes: { start: new Date(firstWhole), end: new Date(lastWhole) }, partialEdges };
}

/** Windows in [from, to): exact for NONE and HOUR, an upper bound for DAY (days may be 23–25 h). */
export function windowCount(from: Date, to: Date, size: WindowSize): number {
  switch (size) {
    case "none":
      return 1;
    case "hour":
      return Math.floor((to.getTime() - 1) / HOUR_MS) - Math.floor(from.getTime() / HOUR_MS) + 1;
    case "day":
      return Math.ceil((to.getTime() - from.getTime()) / DAY_MS) + 1;
  }
}

const knownZones = new Map<string, boolean>();

export function isKnownTimeZone(zone: string): boolean {
  let known = knownZones.get(zone);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: zone });
      known = true;
    } catch {
      known = false;
    }
    if (knownZones.size < 1_000) knownZones.set(zone, known);
  }
  return known;
}

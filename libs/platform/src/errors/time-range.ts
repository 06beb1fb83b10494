import type { Violations } from "./errors";

/**
 * The range of every time a caller may send (proto/README.md, "Times"): 2000-01-01T00:00:00Z
 * inclusive to 2100-01-01T00:00:00Z exclusive. Wide enough for any real billing date, narrow
 * enough that anything computed from it (a period end, an expiry a year later) stays a valid
 * google.protobuf.Timestamp and a valid Postgres timestamptz. Services add their own tighter
 * rules (a backfill window, "not in the future") on top.
 */
export const EARLIEST_TIME_INPUT = new Date("2000-01-01T00:00:00Z");
export const LATEST_TIME_INPUT = new Date("2100-01-01T00:00:00Z");

/**
 * Adds an `out_of_range` violation when a time input (already converted from its Timestamp;
 * undefined = not set) is not a valid date inside the range above. Returns whether it is
 * usable, so that later rules do not compute with an invalid date.
 */
export function checkTimeInput(v: Violations, field: string, time: Date | undefined): boolean {
  if (time === undefined) return true;
  const ms = time.getTime();
  if (Number.isNaN(ms) || ms < EARLIEST_TIME_INPUT.getTime() || ms >= LATEST_TIME_INPUT.getTime()) {
    const shown = Number.isNaN(ms) ? "a time outside the Timestamp range" : time.toISOString();
    v.add(field, `${shown} is outside the accepted range [2000-01-01T00:00:00Z, 2100-01-01T00:00:00Z)`, "out_of_range");
    return false;
  }
  return true;
}

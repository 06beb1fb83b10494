/** A google.protobuf.Timestamp as received, before validation. */
export interface TimestampInput {
  seconds: bigint;
  nanos: number;
}

// The range google.protobuf.Timestamp allows: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
const MIN_SECONDS = -62_135_596_800n;
const MAX_SECONDS = 253_402_300_799n;

/**
 * Converts a Timestamp to a Date, or returns undefined when it is malformed (seconds out of
 * range, nanos outside 0–999,999,999). Times are kept with millisecond precision: finer digits
 * are dropped, the same way on every call, so a retry of an event compares equal.
 */
export function timestampToDate(ts: TimestampInput): Date | undefined {
  if (ts.seconds < MIN_SECONDS || ts.seconds > MAX_SECONDS) return undefined;
  if (!Number.isInteger(ts.nanos) || ts.nanos < 0 || ts.nanos > 999_999_999) return undefined;
  return new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1_000_000));
}

export function describeTimestamp(ts: TimestampInput): string {
  return `{seconds: ${ts.seconds}, nanos: ${ts.nanos}}`;
}

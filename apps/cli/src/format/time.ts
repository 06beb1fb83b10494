import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { UsageError } from "../usage-error";

/** RFC 3339 in UTC, or "" for an unset timestamp. */
export function formatTime(ts: Timestamp | undefined): string {
  return ts ? timestampDate(ts).toISOString().replace(".000Z", "Z") : "";
}

const RELATIVE = /^(\d+)([mhd])$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** An RFC 3339 time or a span before `now` such as "7d", "12h", "30m". */
export function parseTime(value: string, flag: string, now = new Date()): Date {
  return parseTimeOrSpan(value, flag, now, -1);
}

/** An RFC 3339 time or a span after `now` such as "30d" (expiry times). */
export function parseFutureTime(value: string, flag: string, now = new Date()): Date {
  return parseTimeOrSpan(value, flag, now, 1);
}

function parseTimeOrSpan(value: string, flag: string, now: Date, direction: 1 | -1): Date {
  const relative = RELATIVE.exec(value);
  if (relative) return new Date(now.getTime() + direction * Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS]);
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(date.getTime())) {
    throw new UsageError(`${flag} ${JSON.stringify(value)} is not an RFC 3339 time (2026-11-01T00:00:00Z) or a span such as 7d, 12h, 30m`);
  }
  return date;
}

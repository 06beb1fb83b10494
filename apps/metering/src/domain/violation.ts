import type { FieldViolation } from "@tally/platform/errors";

/**
 * Stable snake_case codes of the validation rules metering applies. They travel to clients in
 * EventResult.code (batch results) and in error messages, so once published they are never
 * renamed or reused.
 */
export type ViolationCode =
  | "required"
  | "too_long"
  | "too_many"
  | "too_large"
  | "invalid_character"
  | "reserved"
  | "invalid_timestamp"
  | "in_future"
  | "too_old"
  | "unknown_event_type"
  | "invalid_decimal"
  | "too_many_decimal_places"
  | "too_many_digits"
  | "negative"
  | "invalid_pattern"
  | "invalid_value"
  | "duplicate"
  | "not_allowed"
  | "not_whole_millisecond"
  | "out_of_range"
  | "unknown_time_zone"
  | "unknown_reference"
  | "batch_too_large";

/**
 * One problem with one request field, e.g. `events[3].properties[tokens]`; the message names the
 * field and the rejected value. Collected with the platform's `Violations<ViolationCode>`.
 */
export type Violation = FieldViolation<ViolationCode>;

/** Quotes a user value for a message, shortened so one huge value cannot flood logs. */
export function quote(value: string, max = 80): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}

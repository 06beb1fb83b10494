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

/** One problem with one request field, e.g. `events[3].properties[tokens]`. */
export interface Violation {
  field: string;
  code: ViolationCode;
  /** Names the field and the rejected value. */
  message: string;
}

/** Collects every violation of an input, so a caller fixes them all in one go. */
export class ViolationList {
  /** Created on the first violation: most inputs (every event at ingest) have none. */
  private list: Violation[] | undefined;

  add(field: string, code: ViolationCode, message: string): this {
    (this.list ??= []).push({ field, code, message });
    return this;
  }

  get all(): Violation[] {
    return (this.list ??= []);
  }

  get count(): number {
    return this.list?.length ?? 0;
  }

  get empty(): boolean {
    return this.count === 0;
  }
}

/** Quotes a user value for a message, shortened so one huge value cannot flood logs. */
export function quote(value: string, max = 80): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}

import { AlreadyExistsError, Code, FailedPreconditionError, InvalidArgumentError, NotFoundError, TallyError } from "@tally/platform";
import type { Violation } from "./violation";

/**
 * Metering's domain errors, each with a stable snake_case reason. The platform maps their
 * gRPC codes; clients branch on the code, then on the reason.
 */

/** Bad input: every violation, each naming its field, with its code (ErrorDetail.field_violations). */
export function invalidArgument(violations: readonly Violation[], reason = "invalid_argument"): InvalidArgumentError {
  return new InvalidArgumentError(
    violations.map((v) => ({ field: v.field, message: v.message, code: v.code })),
    reason,
  );
}

/** Record: an event with this id but different content is already stored. */
export class IdempotencyConflictError extends AlreadyExistsError {
  constructor(message: string) {
    super(message, "idempotency_conflict");
  }
}

export class MeterNotFoundError extends NotFoundError {
  constructor(key: string) {
    super("meter", key, "meter_not_found");
  }
}

/** CreateMeter: the key belongs to a different (or archived) meter. Keys are never reused. */
export class MeterKeyTakenError extends AlreadyExistsError {
  constructor(key: string, archived: boolean) {
    super(
      archived
        ? `meter key "${key}" belongs to an archived meter; keys are never reused`
        : `meter key "${key}" is taken by a meter with a different definition; meters are immutable: create a new key`,
      "meter_key_taken",
    );
  }
}

export class TooManyMetersError extends FailedPreconditionError {
  constructor(eventType: string, max: number) {
    super(`event type "${eventType}" already has ${max} active meters; archive one first`, "too_many_meters");
  }
}

/**
 * CreateMeter: stored events of the meter's type (inside the backfill window) cannot be read by
 * it, e.g. they lack its value property. Counting them as zero would under-bill silently.
 */
export class BackfillRejectedError extends FailedPreconditionError {
  constructor(
    readonly invalidEvents: number,
    examples: string[],
  ) {
    super(
      `${invalidEvents} recorded event(s) of this type cannot be read by the meter, e.g. ${examples.join("; ")}. ` +
        `Add a filter that excludes them or use another value_property.`,
      "backfill_invalid_events",
    );
  }
}

/** Postgres (or the bus) failed: safe to retry, recording is idempotent by event id. */
export class StorageUnavailableError extends TallyError {
  constructor(cause: unknown) {
    super(Code.Unavailable, "storage_unavailable", "storage is unavailable; retry with the same event ids", [], { cause });
  }
}

/**
 * QueryUsage: an aggregate (a SUM over many events at the per-event maximum) needs more than the
 * 26 integer digits of the decimal convention (38 significant digits, 12 decimal places). Stored
 * sums are exact and unbounded; the answer is refused rather than returned out of contract.
 */
export class AggregateOutOfRangeError extends TallyError {
  constructor(windowStart: Date, integerDigits: number) {
    super(
      Code.OutOfRange,
      "aggregate_out_of_range",
      `the aggregate of the window starting ${windowStart.toISOString()} has ${integerDigits} integer digits, more than the 26 a decimal string may carry; query smaller windows or group by a property`,
    );
  }
}

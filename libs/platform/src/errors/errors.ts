import { Code } from "@connectrpc/connect";

export { Code };

/** One violation of one field, e.g. `{ field: "events[3].id", message: "is required" }`. */
export interface FieldViolation<Code extends string = string> {
  field: string;
  message: string;
  /** Stable snake_case code of this violation, e.g. `too_many_decimal_places`; defaults to the error's reason. */
  code?: Code;
}

/**
 * Base of every domain error. `reason` is a stable snake_case code clients may
 * branch on; `code` is the gRPC status it maps to. Services subclass these and
 * never throw bare Errors across the RPC boundary.
 */
export class TallyError extends Error {
  constructor(
    readonly code: Code,
    readonly reason: string,
    message: string,
    readonly violations: FieldViolation[] = [],
    options?: { cause?: unknown; metadata?: Record<string, string> },
  ) {
    super(message, options);
    this.metadata = options?.metadata ?? {};
  }
  /** Machine-readable context for ErrorDetail.metadata, snake_case keys (e.g. `max_bytes`). */
  readonly metadata: Record<string, string>;
  override get name(): string {
    return this.constructor.name;
  }
}

/** Bad input. Carries every violation found, each naming its field. */
export class InvalidArgumentError extends TallyError {
  constructor(violations: FieldViolation[] | FieldViolation, reason = "invalid_argument") {
    const list = Array.isArray(violations) ? violations : [violations];
    super(Code.InvalidArgument, reason, list.map((v) => `${v.field}: ${v.message}`).join("; "), list);
  }
  get field(): string | undefined {
    return this.violations[0]?.field;
  }
}

export class NotFoundError extends TallyError {
  constructor(what: string, id: string, reason = "not_found") {
    super(Code.NotFound, reason, `${what} "${id}" not found`);
  }
}

export class AlreadyExistsError extends TallyError {
  constructor(message: string, reason = "already_exists") {
    super(Code.AlreadyExists, reason, message);
  }
}

export class FailedPreconditionError extends TallyError {
  constructor(message: string, reason = "failed_precondition") {
    super(Code.FailedPrecondition, reason, message);
  }
}

export class UnauthenticatedError extends TallyError {
  constructor(message = "missing or invalid API key (send 'authorization: Bearer <key>')") {
    super(Code.Unauthenticated, "unauthenticated", message);
  }
}

export class PermissionDeniedError extends TallyError {
  constructor(scope: string, method: string) {
    super(Code.PermissionDenied, "missing_scope", `${method} requires the "${scope}" scope`);
  }
}

/**
 * Collects violations while validating an input, then throws them all at once. `Code` narrows the
 * codes a service publishes (e.g. metering's ViolationCode). The list is created on the first
 * violation: validation runs for every event at ingest, and nearly all have none.
 */
export class Violations<Code extends string = string> {
  private list: FieldViolation<Code>[] | undefined;
  add(field: string, message: string, code?: Code): this {
    (this.list ??= []).push(code ? { field, message, code } : { field, message });
    return this;
  }
  get all(): readonly FieldViolation<Code>[] {
    return this.list ?? NO_VIOLATIONS;
  }
  get count(): number {
    return this.list?.length ?? 0;
  }
  get empty(): boolean {
    return this.list === undefined;
  }
  throwIfAny(reason?: string): void {
    if (this.list) throw new InvalidArgumentError([...this.list], reason);
  }
}

const NO_VIOLATIONS: readonly never[] = Object.freeze([]);

import { AlreadyExistsError, FailedPreconditionError, NotFoundError, TallyError, Code } from "@tally/platform";

/** Payments' domain errors; each carries its gRPC code and a stable snake_case reason. */
export class InvoiceNotFoundError extends NotFoundError {
  constructor(invoiceId: string) {
    super("invoice", invoiceId, "invoice_not_found");
  }
}

export class AttemptNotFoundError extends NotFoundError {
  constructor(attemptId: string) {
    super("payment attempt", attemptId, "payment_attempt_not_found");
  }
}

export class InvoiceNotChargeableError extends FailedPreconditionError {
  constructor(invoiceId: string, status: string) {
    super(`invoice "${invoiceId}" is ${status}: only a finalized or uncollectible invoice can be charged`, "invoice_not_chargeable");
  }
}

export class AttemptPendingError extends FailedPreconditionError {
  constructor(invoiceId: string, attemptId: string) {
    super(`invoice "${invoiceId}" has attempt "${attemptId}" pending; wait for its outcome`, "payment_attempt_pending");
  }
}

export class IdempotencyKeyReusedError extends AlreadyExistsError {
  constructor(key: string, invoiceId: string) {
    super(`idempotency_key "${key}" was used for invoice "${invoiceId}"`, "idempotency_key_reused");
  }
}

/** The provider could not be reached or did not say what happened: the outcome is unknown. */
export class ProviderUnavailableError extends TallyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(Code.Unavailable, "provider_unavailable", message, [], options);
  }
}

/** The provider refused the request itself (not a card decline), e.g. an unknown payment method. */
export class ProviderRejectedError extends TallyError {
  constructor(
    message: string,
    readonly providerCode: string,
    readonly param?: string,
  ) {
    super(Code.InvalidArgument, "provider_rejected", message, param ? [{ field: param, message }] : []);
  }
}

import { FailedPreconditionError, NotFoundError } from "@tally/platform";

/** Invoicing's domain errors, with stable snake_case reasons (the platform maps them to gRPC codes). */

export class CustomerNotFoundError extends NotFoundError {
  constructor(customerId: string) {
    super("customer", customerId, "customer_not_found");
  }
}

export class InvoiceNotFoundError extends NotFoundError {
  constructor(invoiceId: string) {
    super("invoice", invoiceId, "invoice_not_found");
  }
}

export class CreditNoteNotFoundError extends NotFoundError {
  constructor(creditNoteId: string) {
    super("credit note", creditNoteId, "credit_note_not_found");
  }
}

/** The invoice's status forbids the call; the message names the status. */
export class InvoiceStateError extends FailedPreconditionError {
  constructor(invoiceId: string, status: string, action: string) {
    super(`invoice "${invoiceId}" is ${status.toUpperCase()}: cannot ${action}`, "invalid_invoice_state");
  }
}

export class ClockNotManualError extends FailedPreconditionError {
  constructor() {
    super("the service clock is the system clock; start invoicing with INVOICING_CLOCK=manual (or every service with TALLY_CLOCK=manual) to move it", "clock_not_manual");
  }
}

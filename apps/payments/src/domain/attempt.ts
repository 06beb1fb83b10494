/** One try to collect an invoice, as payments keeps it. Amounts are decimal strings. */
export type AttemptStatus = "pending" | "succeeded" | "failed" | "canceled";

export interface PaymentAttempt {
  id: string;
  invoiceId: string;
  customerId: string;
  attemptNumber: number;
  amount: string;
  currency: string;
  status: AttemptStatus;
  /** Sent to the provider with every request for this attempt: derived, never random. */
  idempotencyKey: string;
  /** The ChargeInvoice caller's key, when a caller started it. */
  callerKey: string | null;
  providerCustomerId: string;
  paymentMethod: string;
  providerPaymentId: string;
  failureCode: string;
  failureMessage: string;
  nextRetryTime: Date | null;
  createTime: Date;
  updateTime: Date;
  /** The trace of the collection that started it: its outcome's events continue it. */
  traceparent: string | null;
}

/** What the provider says happened to an attempt. */
export interface AttemptOutcome {
  attemptId: string;
  status: Exclude<AttemptStatus, "pending">;
  providerPaymentId: string;
  failureCode?: string;
  failureMessage?: string;
}

/**
 * An attempt moves once, from pending to an outcome. Webhooks and responses race and arrive
 * late, twice or out of order: whichever is first decides, later ones change nothing.
 * One exception: an attempt of a voided invoice that the provider had no trace of is presumed
 * canceled (see Collector.stopInFlight); if the provider turns out to have charged it after all,
 * that money is real and is recorded (and refunded), never ignored.
 */
export function canApply(current: AttemptStatus, next: AttemptStatus): boolean {
  return current === "pending" || (current === "canceled" && next === "succeeded");
}

/** Failure code of an attempt canceled because its invoice was voided while it was in flight. */
export const INVOICE_VOIDED = "invoice_voided";

export function attemptIdempotencyKey(invoiceId: string, attemptNumber: number): string {
  return `tally:${invoiceId}:attempt:${attemptNumber}`;
}

export function attemptId(invoiceId: string, attemptNumber: number): string {
  return `pay_${invoiceId}_${attemptNumber}`;
}

/** Failure code recorded without calling the provider when the customer has nothing to charge. */
export const NO_PAYMENT_METHOD = "no_payment_method";

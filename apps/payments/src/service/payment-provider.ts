/**
 * What payments needs from a payment provider. Amounts are decimal strings here; the adapter
 * converts to the provider's minor units. Every write carries an idempotency key derived from
 * a row payments wrote before calling, so repeating a call never repeats its effect.
 */
export interface ChargeRequest {
  attemptId: string;
  invoiceId: string;
  customerId: string;
  providerCustomerId: string;
  paymentMethod: string;
  amount: string;
  currency: string;
  idempotencyKey: string;
}

/** A provider payment as the provider reports it. */
export interface ProviderPaymentView {
  id: string;
  /** Where the payment ended: pending (no outcome yet), succeeded, failed or canceled. */
  outcome: "pending" | "succeeded" | "failed" | "canceled";
  status: string;
  amount: string;
  currency: string;
  attemptId: string;
  invoiceId: string;
  failureCode?: string;
  failureMessage?: string;
}

export interface RefundRequest {
  refundId: string;
  invoiceId: string;
  creditNoteId: string;
  providerPaymentId: string;
  amount: string;
  currency: string;
  idempotencyKey: string;
}

export interface ProviderRefundView {
  id: string;
  invoiceId: string;
  refundId: string;
  providerPaymentId: string;
  amount: string;
  currency: string;
  succeeded: boolean;
  failureCode?: string;
}

export interface PaymentProvider {
  readonly name: string;
  /** The provider customer for a Tally customer, created on first use (idempotently). */
  ensureCustomer(customerId: string): Promise<string>;
  /** Attaches a payment method (or test token) and makes it the default; returns its id. */
  setDefaultPaymentMethod(providerCustomerId: string, paymentMethod: string): Promise<string>;
  /**
   * Creates and confirms an off-session payment. A decline resolves with outcome `failed`;
   * only an unknown outcome (no answer, 5xx, a request still in flight) throws
   * ProviderUnavailableError, and the same request may then be repeated.
   */
  charge(request: ChargeRequest): Promise<ProviderPaymentView>;
  /**
   * Cancels a payment not yet final (e.g. awaiting authentication). ProviderRejectedError when it
   * can no longer be canceled (it succeeded or failed meanwhile).
   */
  cancel(providerPaymentId: string, idempotencyKey: string): Promise<ProviderPaymentView>;
  /** Payments whose metadata names the attempt (for keys the provider no longer remembers). */
  findByAttempt(attemptId: string): Promise<ProviderPaymentView[]>;
  refund(request: RefundRequest): Promise<ProviderRefundView>;
  /** Payments and refunds made by Tally since `since` (reconciliation). */
  listSince(since: Date): Promise<{ payments: ProviderPaymentView[]; refunds: ProviderRefundView[] }>;
}

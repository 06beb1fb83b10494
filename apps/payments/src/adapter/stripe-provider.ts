import Stripe from "stripe";
import { currentTraceparent, TRACEPARENT_HEADER } from "@tally/platform";
import { ProviderRejectedError, ProviderUnavailableError } from "../domain/errors";
import { fromMinorUnits, toMinorUnits } from "../domain/money";
import type { ChargeRequest, PaymentProvider, ProviderPaymentView, ProviderRefundView, RefundRequest } from "../service/payment-provider";

/** Metadata keys Tally writes on provider objects; reconciliation and recovery find them by these. */
export const METADATA = { invoice: "tally_invoice_id", attempt: "tally_attempt_id", customer: "tally_customer_id", refund: "tally_refund_id", creditNote: "tally_credit_note_id" } as const;

export interface StripeConnection {
  secretKey: string;
  /** e.g. https://api.stripe.com or http://127.0.0.1:12111 (stripe-local). */
  apiBase: string;
  timeoutMs: number;
}

/**
 * The charge's trace as a `traceparent` request header, for whatever logs requests on the way
 * (a proxy, stripe-local). Not metadata: a replay of the same key (the sweep, after a crash) runs
 * in another trace, and Stripe refuses an idempotent replay whose parameters differ.
 */
function traceHeaders(): Record<string, string> | undefined {
  const traceparent = currentTraceparent();
  return traceparent ? { [TRACEPARENT_HEADER]: traceparent } : undefined;
}

/** The official client, pointed where configuration says, without its own retries (ours are keyed). */
export function createStripeClient(c: StripeConnection): Stripe {
  const base = new URL(c.apiBase);
  const protocol = base.protocol === "http:" ? "http" : "https";
  return new Stripe(c.secretKey, {
    host: base.hostname,
    port: Number(base.port || (protocol === "http" ? 80 : 443)),
    protocol,
    maxNetworkRetries: 0,
    timeout: c.timeoutMs,
    telemetry: false,
  });
}

/** Stripe as a PaymentProvider: off-session PaymentIntents on the customer's default card. */
export class StripeProvider implements PaymentProvider {
  readonly name = "stripe";

  constructor(private readonly stripe: Stripe) {}

  async ensureCustomer(customerId: string): Promise<string> {
    const customer = await call(() =>
      this.stripe.customers.create({ metadata: { [METADATA.customer]: customerId } }, { idempotencyKey: `tally:customer:${customerId}` }),
    );
    return customer.id;
  }

  async setDefaultPaymentMethod(providerCustomerId: string, paymentMethod: string): Promise<string> {
    const attached = await call(() => this.stripe.paymentMethods.attach(paymentMethod, { customer: providerCustomerId }));
    await call(() => this.stripe.customers.update(providerCustomerId, { invoice_settings: { default_payment_method: attached.id } }));
    return attached.id;
  }

  async charge(r: ChargeRequest): Promise<ProviderPaymentView> {
    const amount = toMinorUnits(r.amount, r.currency);
    if (amount === undefined) throw new ProviderRejectedError(`amount ${r.amount} has more decimals than ${r.currency} allows`, "amount_invalid", "amount");
    try {
      const intent = await this.stripe.paymentIntents.create(
        {
          amount,
          currency: r.currency.toLowerCase(),
          customer: r.providerCustomerId,
          payment_method: r.paymentMethod,
          confirm: true,
          off_session: true,
          metadata: { [METADATA.invoice]: r.invoiceId, [METADATA.attempt]: r.attemptId, [METADATA.customer]: r.customerId },
        },
        { idempotencyKey: r.idempotencyKey, headers: traceHeaders() },
      );
      return paymentView(intent);
    } catch (err) {
      // A decline is an answer: the error carries the intent, now requires_payment_method.
      if (err instanceof Stripe.errors.StripeCardError && err.payment_intent) {
        return { ...paymentView(err.payment_intent), outcome: "failed", failureCode: err.decline_code ?? err.code ?? "card_declined", failureMessage: err.message };
      }
      throw translate(err);
    }
  }

  async cancel(providerPaymentId: string, idempotencyKey: string): Promise<ProviderPaymentView> {
    return paymentView(await call(() => this.stripe.paymentIntents.cancel(providerPaymentId, { cancellation_reason: "abandoned" }, { idempotencyKey })));
  }

  async findByAttempt(attemptId: string): Promise<ProviderPaymentView[]> {
    const found: ProviderPaymentView[] = [];
    await call(async () => {
      for await (const pi of this.stripe.paymentIntents.search({ query: `metadata['${METADATA.attempt}']:'${attemptId}'`, limit: 100 })) found.push(paymentView(pi));
    });
    return found;
  }

  async refund(r: RefundRequest): Promise<ProviderRefundView> {
    const amount = toMinorUnits(r.amount, r.currency);
    if (amount === undefined) throw new ProviderRejectedError(`amount ${r.amount} has more decimals than ${r.currency} allows`, "amount_invalid", "amount");
    const refund = await call(() =>
      this.stripe.refunds.create(
        {
          payment_intent: r.providerPaymentId,
          amount,
          metadata: { [METADATA.invoice]: r.invoiceId, [METADATA.refund]: r.refundId, ...(r.creditNoteId ? { [METADATA.creditNote]: r.creditNoteId } : {}) },
        },
        { idempotencyKey: r.idempotencyKey },
      ),
    );
    return refundView(refund);
  }

  async listSince(since: Date): Promise<{ payments: ProviderPaymentView[]; refunds: ProviderRefundView[] }> {
    const created = { gte: Math.floor(since.getTime() / 1000) };
    const payments: ProviderPaymentView[] = [];
    const refunds: ProviderRefundView[] = [];
    await call(async () => {
      for await (const pi of this.stripe.paymentIntents.list({ created, limit: 100 })) if (pi.metadata[METADATA.attempt]) payments.push(paymentView(pi));
      for await (const re of this.stripe.refunds.list({ created, limit: 100 })) if (re.metadata?.[METADATA.invoice]) refunds.push(refundView(re));
    });
    return { payments, refunds };
  }
}

export function paymentView(pi: Stripe.PaymentIntent): ProviderPaymentView {
  const error = pi.last_payment_error;
  const outcome =
    pi.status === "succeeded"
      ? "succeeded"
      : pi.status === "canceled"
        ? "canceled"
        : pi.status === "requires_payment_method" && error
          ? "failed"
          : "pending";
  return {
    id: pi.id,
    outcome,
    status: pi.status,
    amount: fromMinorUnits(pi.status === "succeeded" ? pi.amount_received : pi.amount, pi.currency),
    currency: pi.currency.toUpperCase(),
    attemptId: pi.metadata[METADATA.attempt] ?? "",
    invoiceId: pi.metadata[METADATA.invoice] ?? "",
    ...(outcome === "failed" ? { failureCode: error?.decline_code ?? error?.code ?? "payment_failed", failureMessage: error?.message ?? "" } : {}),
  };
}

export function refundView(re: Stripe.Refund): ProviderRefundView {
  const pi = typeof re.payment_intent === "string" ? re.payment_intent : (re.payment_intent?.id ?? "");
  return {
    id: re.id,
    invoiceId: re.metadata?.[METADATA.invoice] ?? "",
    refundId: re.metadata?.[METADATA.refund] ?? "",
    providerPaymentId: pi,
    amount: fromMinorUnits(re.amount, re.currency),
    currency: re.currency.toUpperCase(),
    succeeded: re.status === "succeeded",
    ...(re.status === "failed" ? { failureCode: re.failure_reason ?? "refund_failed" } : {}),
  };
}

async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw translate(err);
  }
}

/** Unknown outcomes become ProviderUnavailableError (safe to repeat with the key); refusals ProviderRejectedError. */
function translate(err: unknown): Error {
  if (err instanceof Stripe.errors.StripeConnectionError || err instanceof Stripe.errors.StripeAPIError || err instanceof Stripe.errors.StripeRateLimitError) {
    return new ProviderUnavailableError(`stripe: ${err.message}`, { cause: err });
  }
  // 409: the same key is still being processed; its outcome is not known yet.
  if (err instanceof Stripe.errors.StripeIdempotencyError && err.statusCode === 409) return new ProviderUnavailableError(`stripe: ${err.message}`, { cause: err });
  if (err instanceof Stripe.errors.StripeError) return new ProviderRejectedError(`stripe: ${err.message}`, err.code ?? err.type, err.param);
  return err instanceof Error ? err : new Error(String(err));
}

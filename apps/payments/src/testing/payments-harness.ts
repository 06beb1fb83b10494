import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { invoicing, payments as pb } from "@tally/contracts";
import { SUBJECTS } from "@tally/contracts";
import { startService, type RunningService } from "@tally/platform";
import { createTestClient, createTestEnvironment, ManualClock, TEST_KEYS, type TestEnvironment } from "@tally/platform/testing";
import type { Client } from "@connectrpc/connect";
import type { Subscription } from "nats";
import { startStripeLocal, type StripeLocal } from "../../../../tools/stripe-local/src";
import { createPaymentsService, type PaymentsApp, type ProviderWrapper } from "../payments-service";
import type { PaymentsSettings } from "../payments-settings";
import { WEBHOOK_PATH } from "../service/webhook-receiver";

export const WEBHOOK_SECRET = "whsec_test_payments";
export const STRIPE_KEY = "sk_test_payments";

/** Everything payments published, decoded, in arrival order. */
export interface Published {
  succeeded: pb.PaymentSucceeded[];
  failed: pb.PaymentFailed[];
  exhausted: pb.DunningExhausted[];
  refunded: pb.RefundSucceeded[];
}

export interface PaymentsInstance {
  running: RunningService;
  app: PaymentsApp;
  client: Client<typeof pb.Payments>;
  stop(): Promise<void>;
}

/**
 * One test file's world: its own database and NATS prefix, stripe-local on the same manual
 * clock, and helpers to publish invoicing's events (invoicing itself need not exist) and to
 * wait for what payments publishes.
 */
export class PaymentsHarness {
  readonly published: Published = { succeeded: [], failed: [], exhausted: [], refunded: [] };
  private subscription: Subscription | undefined;
  private seq = 0;

  private constructor(
    readonly env: TestEnvironment,
    readonly clock: ManualClock,
    readonly stripe: StripeLocal,
  ) {}

  static async create(start = "2026-03-01T00:00:00Z"): Promise<PaymentsHarness> {
    const env = await createTestEnvironment();
    const clock = new ManualClock(start);
    const stripe = await startStripeLocal({ secretKey: STRIPE_KEY, now: () => clock.now().getTime() });
    const h = new PaymentsHarness(env, clock, stripe);
    await env.bus.ensureStream("invoicing");
    await env.bus.ensureStream("payments");
    h.subscription = env.bus.connection.subscribe(env.bus.subject("tally.payments.v1.>"), {
      callback: (_err, msg) => {
        const subject = msg.subject.slice(env.natsPrefix.length + 1);
        if (subject.endsWith("payment.succeeded")) h.published.succeeded.push(fromBinary(pb.PaymentSucceededSchema, msg.data));
        else if (subject.endsWith("payment.failed")) h.published.failed.push(fromBinary(pb.PaymentFailedSchema, msg.data));
        else if (subject.endsWith("dunning.exhausted")) h.published.exhausted.push(fromBinary(pb.DunningExhaustedSchema, msg.data));
        else if (subject.endsWith("refund.succeeded")) h.published.refunded.push(fromBinary(pb.RefundSucceededSchema, msg.data));
      },
    });
    return h;
  }

  settings(overrides: Partial<PaymentsSettings> = {}): Partial<PaymentsSettings> {
    return {
      stripeSecretKey: STRIPE_KEY,
      stripeWebhookSecret: WEBHOOK_SECRET,
      stripeApiBase: this.stripe.url,
      stripeTimeoutMs: 2_000,
      webhookAddress: "127.0.0.1:0",
      // Tests run sweeps themselves, at the moments they choose.
      sweepIntervalMs: 600_000,
      resolveAfterMs: 0,
      dunningScheduleDays: [1, 3, 5, 7],
      ...overrides,
    };
  }

  /** Starts a payments instance; stripe-local's webhooks go to it unless `webhooks` is false. */
  async start(overrides: Partial<PaymentsSettings> = {}, { webhooks = true, wrapProvider }: { webhooks?: boolean; wrapProvider?: ProviderWrapper } = {}): Promise<PaymentsInstance> {
    let app: PaymentsApp | undefined;
    const definition = createPaymentsService(this.settings(overrides), (a) => (app = a), wrapProvider);
    const running = await startService(definition, this.env.config("payments"), { clock: this.clock });
    if (webhooks) this.stripe.webhooks.endpoint = { url: `http://${app!.webhookAddress}${WEBHOOK_PATH}`, secret: WEBHOOK_SECRET };
    const client = createTestClient(pb.Payments, running.address, TEST_KEYS.admin);
    return {
      running,
      app: app!,
      client: client.client,
      async stop() {
        client.close();
        await running.stop();
      },
    };
  }

  invoice(id: string, customerId: string, amountDue: string, currency = "USD"): invoicing.Invoice {
    return create(invoicing.InvoiceSchema, {
      id,
      customerId,
      currency,
      status: invoicing.InvoiceStatus.FINALIZED,
      total: amountDue,
      amountDue,
      finalizeTime: timestampFromDate(this.clock.now()),
    });
  }

  async finalized(invoice: invoicing.Invoice, eventId = `evt-fin-${invoice.id}`): Promise<void> {
    const e = create(invoicing.InvoiceFinalizedSchema, { meta: this.meta(eventId, SUBJECTS.invoicing.invoiceFinalized), invoice });
    await this.env.bus.publish(SUBJECTS.invoicing.invoiceFinalized, toBinary(invoicing.InvoiceFinalizedSchema, e), eventId);
  }

  async voided(invoice: invoicing.Invoice): Promise<void> {
    const eventId = `evt-void-${invoice.id}`;
    const e = create(invoicing.InvoiceVoidedSchema, { meta: this.meta(eventId, SUBJECTS.invoicing.invoiceVoided), invoice: { ...invoice, status: invoicing.InvoiceStatus.VOID } });
    await this.env.bus.publish(SUBJECTS.invoicing.invoiceVoided, toBinary(invoicing.InvoiceVoidedSchema, e), eventId);
  }

  async creditNote(invoice: invoicing.Invoice, creditNoteId: string, refundDue: string): Promise<void> {
    const eventId = `evt-cn-${creditNoteId}`;
    const e = create(invoicing.CreditNoteIssuedSchema, {
      meta: this.meta(eventId, SUBJECTS.invoicing.creditNoteIssued),
      creditNote: { id: creditNoteId, invoiceId: invoice.id, amount: { currency: invoice.currency, amount: refundDue }, reason: "test" },
      invoice,
      refundDue: { currency: invoice.currency, amount: refundDue },
    });
    await this.env.bus.publish(SUBJECTS.invoicing.creditNoteIssued, toBinary(invoicing.CreditNoteIssuedSchema, e), eventId);
  }

  private meta(id: string, subject: string) {
    this.seq++;
    return { id, source: "tally.invoicing", subject, time: timestampFromDate(this.clock.now()) };
  }

  /** Succeeded PaymentIntents stripe-local holds for an invoice. */
  chargesFor(invoiceId: string): { id: string; amount: number; status: string }[] {
    return [...this.stripe.api.paymentIntents.values()]
      .filter((pi) => (pi.metadata as Record<string, string>).tally_invoice_id === invoiceId && pi.status === "succeeded")
      .map((pi) => ({ id: pi.id, amount: Number(pi.amount), status: String(pi.status) }));
  }

  async close(): Promise<void> {
    this.subscription?.unsubscribe();
    await this.stripe.close();
    await this.env.close();
  }
}

/** Polls a condition (never a fixed sleep): resolves when it holds, fails after `timeoutMs`. */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 10_000, what = "condition"): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

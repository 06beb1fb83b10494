import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { invoicing, metering, payments, rating, SUBJECTS } from "@tally/contracts";
import { createPaymentsService } from "@tally/payments";
import { parseTraceparent, startService, type RunningService } from "@tally/platform";
import { createTestClient, TEST_KEYS } from "@tally/platform/testing";
import { startStripeLocal, type StripeLocal } from "../../tools/stripe-local/src";
import { eventually, untilMeterKnown } from "../support/platform-stack";
import { startInvoicingStack, type InvoicingStack } from "../support/invoicing-stack";

const at = (iso: string) => timestampFromDate(new Date(iso));
const CLOSE_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const STRIPE_KEY = "sk_test_trace";

/**
 * One trace from period close to payment: the RunBillingCycle call that closes November carries a
 * traceparent; the invoice keeps it, so InvoiceFinalized goes out in it even though a later,
 * untraced cycle finalizes; payments charges in it (the PaymentIntent request carries it as a
 * header), publishes PaymentSucceeded in it, and invoicing marks the invoice paid in it.
 */
describe("one trace id spans period close → invoice → payment", () => {
  let stack: InvoicingStack;
  let stripe: StripeLocal;
  let payer: RunningService;
  let paymentsClient: ReturnType<typeof createTestClient<typeof payments.Payments>>;
  const customerId = "cus_traced";

  /** The traceparent header of the stored message on `subject`, if any. */
  async function headerOn(owner: "invoicing" | "payments", subject: string): Promise<string | undefined> {
    const { bus } = stack.env;
    const stream = bus.streamName(owner);
    const wanted = bus.subject(subject);
    const info = await bus.manager.streams.info(stream);
    for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
      const msg = await bus.manager.streams.getMessage(stream, { seq }).catch(() => undefined);
      if (msg?.subject === wanted) return msg.header?.get("traceparent") ?? "";
    }
    return undefined;
  }
  const traceIdOn = async (owner: "invoicing" | "payments", subject: string) =>
    eventually(async () => {
      const header = await headerOn(owner, subject);
      expect(header).toBeDefined();
      return parseTraceparent(header)?.traceId;
    });

  beforeAll(async () => {
    stack = await startInvoicingStack("2026-11-01T00:00:00Z");
    stripe = await startStripeLocal({ secretKey: STRIPE_KEY, now: () => stack.clock.now().getTime() });
    const definition = createPaymentsService({
      stripeSecretKey: STRIPE_KEY,
      stripeWebhookSecret: "whsec_trace",
      stripeApiBase: stripe.url,
      stripeTimeoutMs: 5_000,
      webhookAddress: "127.0.0.1:0",
      sweepIntervalMs: 600_000,
    });
    payer = await startService(definition, stack.env.config("payments"), { clock: stack.clock });
    paymentsClient = createTestClient(payments.Payments, payer.address, TEST_KEYS.admin);

    await stack.meter.createMeter({ meter: { key: "calls", eventType: "api", aggregation: metering.Aggregation.SUM, valueProperty: "calls" } });
    await untilMeterKnown(() =>
      stack.rater.createPlan({
        plan: {
          key: "basic",
          name: "Basic",
          currency: "USD",
          billingInterval: rating.BillingInterval.MONTH,
          recurringFee: { amount: "10", timing: rating.FeeTiming.IN_ARREARS },
          components: [
            {
              key: "calls",
              meterKey: "calls",
              displayName: "Calls",
              pricing: { case: "price" as const, value: { model: { case: "graduated" as const, value: { tiers: [{ upTo: "", unitAmount: "0.01", flatAmount: "0" }] } } } },
            },
          ],
        },
      }),
    );
    await stack.invoicer.createCustomer({
      customer: { customerId, legalName: "Traced Ltd", email: "ap@traced.test", currency: "USD", gracePeriod: { seconds: BigInt(600) }, netTermsDays: 14, taxExempt: true },
    });
    await paymentsClient.client.setDefaultPaymentMethod({ customerId, paymentMethod: "pm_card_visa" });
    await stack.rater.createSubscription({ customerId, planKey: "basic", startTime: at("2026-11-01T00:00:00Z") });
  });
  afterAll(async () => {
    paymentsClient?.close();
    await payer?.stop();
    await stripe?.close();
    await stack?.stop();
  });

  it("closes in the caller's trace, and the invoice is finalized, charged and paid in it", async () => {
    stack.clock.set("2026-12-01T00:05:00Z");
    await eventually(async () => {
      await stack.invoicer.runBillingCycle({}, { headers: { traceparent: `00-${CLOSE_TRACE}-00f067aa0ba902b7-01` } });
      expect((await stack.invoicer.listInvoices({ customerId })).invoices).toHaveLength(1);
    });
    // Grace over: a later cycle with no trace of its own finalizes.
    stack.clock.set("2026-12-01T00:11:00Z");
    expect((await stack.invoicer.runBillingCycle({})).invoicesFinalized).toBe(1);

    const [invoice] = (await stack.invoicer.listInvoices({ customerId })).invoices;
    await eventually(async () => expect((await stack.invoicer.getInvoice({ invoiceId: invoice!.id })).invoice?.status).toBe(invoicing.InvoiceStatus.PAID));

    expect(await traceIdOn("invoicing", SUBJECTS.invoicing.invoiceFinalized)).toBe(CLOSE_TRACE);
    const charge = stripe.traceparents.find((t) => t.request === "POST /v1/payment_intents");
    expect(parseTraceparent(charge?.traceparent)?.traceId).toBe(CLOSE_TRACE);
    expect(await traceIdOn("payments", SUBJECTS.payments.paymentSucceeded)).toBe(CLOSE_TRACE);
    expect(await traceIdOn("invoicing", SUBJECTS.invoicing.invoicePaid)).toBe(CLOSE_TRACE);
  });
});

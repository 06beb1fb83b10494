import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { invoicing, limits, metering, payments, rating, SUBJECTS } from "@tally/contracts";
import { createPaymentsService, type PaymentsApp } from "@tally/payments";
import { startService, type RunningService } from "@tally/platform";
import { createTestClient, ManualClock, TEST_KEYS, until } from "@tally/platform/testing";
import { startStripeLocal, type StripeLocal } from "../../tools/stripe-local/src";
import { startPlatformStack, untilMeterKnown, type PlatformStack } from "../support/platform-stack";

/**
 * Through the services: payments collects an invoice against stripe-local, the card keeps being
 * declined until dunning gives up (DunningExhausted), limits — configured to block on it
 * (LIMITS_BLOCK_ON_UNCOLLECTIBLE=true) — then denies the customer's usage; a manual charge with a
 * good card (PaymentSucceeded) lifts the block. Invoicing's InvoiceFinalized is published as
 * invoicing would (its own tests cover how it gets there).
 */
describe("an uncollectible invoice blocks usage until it is paid", () => {
  const customerId = "cus_e2e_unpaid";
  let stack: PlatformStack;
  let stripe: StripeLocal;
  let paymentsService: RunningService;
  let app: PaymentsApp;
  let payer: ReturnType<typeof createTestClient<typeof payments.Payments>>;
  const clock = new ManualClock(new Date());
  const previousDefault = process.env.LIMITS_BLOCK_ON_UNCOLLECTIBLE;

  beforeAll(async () => {
    process.env.LIMITS_BLOCK_ON_UNCOLLECTIBLE = "true"; // read by limits when it starts
    stack = await startPlatformStack();
    stripe = await startStripeLocal({ secretKey: "sk_test_e2e", now: () => clock.now().getTime() });
    const definition = createPaymentsService(
      {
        stripeSecretKey: "sk_test_e2e",
        stripeWebhookSecret: "whsec_e2e",
        stripeApiBase: stripe.url,
        webhookAddress: "127.0.0.1:0",
        sweepIntervalMs: 600_000, // the test sweeps when it moves the clock
        dunningScheduleDays: [1],
      },
      (a) => (app = a),
    );
    paymentsService = await startService(definition, stack.env.config("payments"), { clock });
    stripe.webhooks.endpoint = { url: `http://${app.webhookAddress}/stripe/webhooks`, secret: "whsec_e2e" };
    payer = createTestClient(payments.Payments, paymentsService.address, TEST_KEYS.all);

    await stack.meter.createMeter({ meter: { key: "tokens", eventType: "llm.completion", aggregation: metering.Aggregation.SUM, valueProperty: "tokens" } });
    await untilMeterKnown(() =>
      stack.rater.createPlan({
        plan: {
          key: "basic",
          name: "Basic",
          currency: "USD",
          billingInterval: rating.BillingInterval.MONTH,
          components: [{ key: "tokens", meterKey: "tokens", displayName: "Tokens", pricing: { case: "price", value: { model: { case: "perUnit", value: { unitAmount: "0.01" } } } } }],
        },
      }),
    );
    await stack.rater.createSubscription({ customerId, planKey: "basic", startTime: { seconds: BigInt(Math.floor(Date.now() / 1000) - 3600) } });
    await until("limits knows the subscription", async () => (await stack.limiter.check({ customerId, meterKey: "tokens", quantity: "1" })).allowed);
  }, 60_000);

  afterAll(async () => {
    payer?.close();
    await paymentsService?.stop();
    await stripe?.close();
    await stack?.stop();
    if (previousDefault === undefined) delete process.env.LIMITS_BLOCK_ON_UNCOLLECTIBLE;
    else process.env.LIMITS_BLOCK_ON_UNCOLLECTIBLE = previousDefault;
  });

  const check = () => stack.limiter.check({ customerId, meterKey: "tokens", quantity: "1" });

  it("denies usage from DunningExhausted until PaymentSucceeded", async () => {
    await payer.client.setDefaultPaymentMethod({ customerId, paymentMethod: "pm_card_chargeDeclined" });
    const invoice = create(invoicing.InvoiceSchema, {
      id: "inv_e2e_unpaid",
      customerId,
      currency: "USD",
      status: invoicing.InvoiceStatus.FINALIZED,
      total: "12.00",
      amountDue: "12.00",
      finalizeTime: timestampFromDate(clock.now()),
    });
    const finalized = create(invoicing.InvoiceFinalizedSchema, { meta: { id: "evt-fin-e2e-unpaid", source: "tally.invoicing", subject: SUBJECTS.invoicing.invoiceFinalized }, invoice });
    await stack.env.bus.publish(SUBJECTS.invoicing.invoiceFinalized, toBinary(invoicing.InvoiceFinalizedSchema, finalized), "evt-fin-e2e-unpaid");

    await until("the first attempt declined", async () => (await payer.client.listPaymentAttempts({ invoiceId: invoice.id })).attempts.some((a) => a.status === payments.PaymentStatus.FAILED));
    expect((await check()).allowed).toBe(true); // a decline alone blocks nothing: dunning still runs

    clock.advance(24 * 3600_000 + 1_000);
    await app.sweep(); // the retry is due, is declined too: the schedule is exhausted
    await until("limits blocks the customer", async () => (await check()).reason === limits.DenyReason.INVOICE_UNCOLLECTIBLE);
    expect(await check()).toMatchObject({ allowed: false, reservationId: "" });

    await payer.client.setDefaultPaymentMethod({ customerId, paymentMethod: "pm_card_visa" });
    const charged = await payer.client.chargeInvoice({ invoiceId: invoice.id, idempotencyKey: "e2e-manual-1" });
    expect(charged.attempt?.status).toBe(payments.PaymentStatus.SUCCEEDED);
    await until("limits lifts the block", async () => (await check()).allowed);
  });
});

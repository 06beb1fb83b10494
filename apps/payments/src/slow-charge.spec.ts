import { PaymentsHarness, waitFor, type PaymentsInstance } from "./testing/payments-harness";

// The consumer hands attempts to the collector and moves on: an invoice finalized after a slow
// charge started is collected without waiting for it (before, each batch waited for its slowest
// charge, and the next messages waited for the batch).
describe("a slow charge does not hold back the next invoices", () => {
  let h: PaymentsHarness;
  let p: PaymentsInstance;
  beforeAll(async () => {
    h = await PaymentsHarness.create(new Date().toISOString());
    p = await h.start({ stripeTimeoutMs: 10_000 });
  });
  afterAll(async () => {
    await p.stop();
    await h.close();
  });

  it("collects the next invoice while the first charge's answer is still on its way, and both once", async () => {
    for (const c of ["c_slow_1", "c_fast_2"]) await p.client.setDefaultPaymentMethod({ customerId: c, paymentMethod: "pm_card_visa" });
    h.stripe.webhooks.faults = { hold: true }; // only the responses decide
    h.stripe.faults.add({ action: "delay_response", method: "POST", path: "/v1/payment_intents", delayMs: 3_000 });
    await h.finalized(h.invoice("inv_slow_1", "c_slow_1", "10.00"));
    await waitFor(() => h.chargesFor("inv_slow_1").length === 1, 10_000, "the slow charge made, its answer delayed");
    await h.finalized(h.invoice("inv_fast_2", "c_fast_2", "10.00"));

    await waitFor(() => h.published.succeeded.some((e) => e.attempt?.invoiceId === "inv_fast_2"), 10_000, "the second invoice collected");
    expect(h.published.succeeded.some((e) => e.attempt?.invoiceId === "inv_slow_1")).toBe(false); // its answer has not come yet
    await waitFor(() => h.published.succeeded.some((e) => e.attempt?.invoiceId === "inv_slow_1"), 10_000, "the slow one collected");
    expect(h.chargesFor("inv_slow_1")).toHaveLength(1);
    expect(h.chargesFor("inv_fast_2")).toHaveLength(1);
    h.stripe.webhooks.faults = {};
    h.stripe.webhooks.release();
  });
});

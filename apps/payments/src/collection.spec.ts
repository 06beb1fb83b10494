import { type ConnectError, Code } from "@connectrpc/connect";
import { payments as pb, SUBJECTS } from "@tally/contracts";
import { scrapeMetric } from "@tally/platform/testing";
import { PaymentsHarness, waitFor, type PaymentsInstance } from "./testing/payments-harness";

const DAY = 24 * 3600 * 1000;

describe("collecting finalized invoices", () => {
  let h: PaymentsHarness;
  let p: PaymentsInstance;
  beforeAll(async () => {
    h = await PaymentsHarness.create();
    p = await h.start();
  });
  afterAll(async () => {
    await p.stop();
    await h.close();
  });

  /** Webhooks still in flight hold row locks the sweep skips: let them land first. */
  async function runDue(): Promise<number> {
    await h.stripe.webhooks.idle();
    await p.app.webhooks.idle();
    return p.app.dunning.runDue();
  }

  async function customer(id: string, token: string) {
    const res = await p.client.setDefaultPaymentMethod({ customerId: id, paymentMethod: token });
    return res.customer!;
  }

  it("charges a finalized invoice once and publishes PaymentSucceeded", async () => {
    const succeeded = () => scrapeMetric(p.running, "tally_events_published_total", { subject: SUBJECTS.payments.paymentSucceeded });
    const succeededBefore = await succeeded();
    const c = await customer("cust_ok", "pm_card_visa");
    expect(c.providerCustomerId).toMatch(/^cus_/);
    expect(c.defaultPaymentMethod).toMatch(/^pm_/);
    const invoice = h.invoice("inv_ok", "cust_ok", "42.50");
    await h.finalized(invoice);
    const event = await waitFor(() => h.published.succeeded.find((e) => e.attempt?.invoiceId === "inv_ok"), 10_000, "PaymentSucceeded");
    expect(event.attempt).toMatchObject({ status: pb.PaymentStatus.SUCCEEDED, amount: { currency: "USD", amount: "42.5" }, attemptNumber: 1, idempotencyKey: "tally:inv_ok:attempt:1" });
    expect(h.chargesFor("inv_ok")).toEqual([expect.objectContaining({ amount: 4250 })]);
    // the same event again (redelivery) and the webhooks that followed change nothing
    await h.finalized(invoice, "evt-fin-inv_ok-again");
    await h.stripe.webhooks.idle();
    await p.app.webhooks.idle();
    const { attempts } = await p.client.listPaymentAttempts({ invoiceId: "inv_ok" });
    expect(attempts.map((a) => a.status)).toEqual([pb.PaymentStatus.SUCCEEDED]);
    expect(h.chargesFor("inv_ok")).toHaveLength(1);
    // counted once on /metrics (the relay counts after JetStream's ack, which may follow our receipt)
    await waitFor(async () => (await succeeded()) > succeededBefore || undefined);
    expect((await succeeded()) - succeededBefore).toBe(1);
  });

  it("an invoice with nothing due is not charged", async () => {
    await customer("cust_zero", "pm_card_visa");
    await h.finalized(h.invoice("inv_zero", "cust_zero", "0"));
    await h.finalized(h.invoice("inv_zero_marker", "cust_zero", "1.00"));
    await waitFor(() => h.published.succeeded.some((e) => e.attempt?.invoiceId === "inv_zero_marker"));
    expect((await p.client.listPaymentAttempts({ invoiceId: "inv_zero" })).attempts).toHaveLength(0);
  });

  it("decline → dunning on the schedule → success on the third retry stops it", async () => {
    await customer("cust_dun", "pm_card_chargeDeclined");
    const start = h.clock.now().getTime();
    await h.finalized(h.invoice("inv_dun", "cust_dun", "10.00"));
    const first = await waitFor(() => h.published.failed.find((e) => e.attempt?.invoiceId === "inv_dun"));
    expect(first.attempt).toMatchObject({ failureCode: "generic_decline", attemptNumber: 1 });
    expect(Number(first.attempt!.nextRetryTime!.seconds) * 1000).toBe(start + 1 * DAY);

    // not due yet: nothing happens
    expect(await runDue()).toBe(0);
    h.clock.set(new Date(start + 1 * DAY));
    expect(await runDue()).toBe(1); // retry 1 fails
    h.clock.set(new Date(start + 3 * DAY));
    expect(await runDue()).toBe(1); // retry 2 fails
    await customer("cust_dun", "pm_card_visa"); // the customer fixes the card
    h.clock.set(new Date(start + 5 * DAY));
    expect(await runDue()).toBe(1); // retry 3 succeeds
    await waitFor(() => h.published.succeeded.find((e) => e.attempt?.invoiceId === "inv_dun"));
    h.clock.set(new Date(start + 30 * DAY));
    expect(await runDue()).toBe(0);
    const { attempts } = await p.client.listPaymentAttempts({ invoiceId: "inv_dun" });
    expect(attempts.map((a) => [a.attemptNumber, a.status])).toEqual([
      [4, pb.PaymentStatus.SUCCEEDED],
      [3, pb.PaymentStatus.FAILED],
      [2, pb.PaymentStatus.FAILED],
      [1, pb.PaymentStatus.FAILED],
    ]);
    expect(new Set(attempts.map((a) => a.idempotencyKey)).size).toBe(4);
    expect(h.chargesFor("inv_dun")).toHaveLength(1);
    h.clock.set(new Date(start));
  });

  it("dunning exhausted after the last retry: DunningExhausted, the invoice is uncollectible, a manual charge still works", async () => {
    await customer("cust_broke", "pm_card_chargeDeclinedInsufficientFunds");
    const start = h.clock.now().getTime();
    await h.finalized(h.invoice("inv_broke", "cust_broke", "7.00"));
    await waitFor(() => h.published.failed.find((e) => e.attempt?.invoiceId === "inv_broke"));
    for (const day of [1, 3, 5, 7]) {
      h.clock.set(new Date(start + day * DAY));
      expect(await runDue()).toBe(1);
    }
    const exhausted = await waitFor(() => h.published.exhausted.find((e) => e.invoiceId === "inv_broke"));
    expect(exhausted.lastAttempt).toMatchObject({ attemptNumber: 5, failureCode: "insufficient_funds" });
    h.clock.set(new Date(start + 60 * DAY));
    expect(await runDue()).toBe(0);

    await customer("cust_broke", "pm_card_visa");
    const manual = await p.client.chargeInvoice({ invoiceId: "inv_broke", idempotencyKey: "manual-1" });
    expect(manual.attempt).toMatchObject({ status: pb.PaymentStatus.SUCCEEDED, attemptNumber: 6 });
    // the same call again returns the same attempt
    expect((await p.client.chargeInvoice({ invoiceId: "inv_broke", idempotencyKey: "manual-1" })).attempt?.id).toBe(manual.attempt?.id);
    expect(h.chargesFor("inv_broke")).toHaveLength(1);
    h.clock.set(new Date(start));
  });

  it("an off-session card that needs authentication fails with authentication_required", async () => {
    await customer("cust_3ds", "pm_card_authenticationRequired");
    await h.finalized(h.invoice("inv_3ds", "cust_3ds", "3.00"));
    const failed = await waitFor(() => h.published.failed.find((e) => e.attempt?.invoiceId === "inv_3ds"));
    expect(failed.attempt?.failureCode).toBe("authentication_required");
  });

  it("a customer without a payment method fails without calling the provider, and is retried", async () => {
    const before = h.stripe.requestCounts.get("POST /v1/payment_intents") ?? 0;
    await h.finalized(h.invoice("inv_nopm", "cust_nopm", "5.00"));
    const failed = await waitFor(() => h.published.failed.find((e) => e.attempt?.invoiceId === "inv_nopm"));
    expect(failed.attempt).toMatchObject({ failureCode: "no_payment_method" });
    expect(failed.attempt?.nextRetryTime).toBeDefined();
    expect(h.stripe.requestCounts.get("POST /v1/payment_intents") ?? 0).toBe(before);
  });

  it("a voided invoice: scheduled retries stop, ChargeInvoice is FAILED_PRECONDITION", async () => {
    await customer("cust_void", "pm_card_chargeDeclined");
    const invoice = h.invoice("inv_void", "cust_void", "9.00");
    await h.finalized(invoice);
    await waitFor(() => h.published.failed.find((e) => e.attempt?.invoiceId === "inv_void"));
    await h.voided(invoice);
    await waitFor(async () => {
      const { rows } = await p.running.deps.pool.query("SELECT state FROM invoices WHERE id = 'inv_void'");
      return rows[0]?.state === "void";
    });
    h.clock.advance(10 * DAY);
    await runDue();
    expect((await p.client.listPaymentAttempts({ invoiceId: "inv_void" })).attempts).toHaveLength(1);
    await expect(p.client.chargeInvoice({ invoiceId: "inv_void", idempotencyKey: "k-void" })).rejects.toMatchObject({ code: Code.FailedPrecondition });
    h.clock.advance(-10 * DAY);
  });

  it("voided before its InvoiceFinalized arrives (out of order): never charged", async () => {
    await customer("cust_void_first", "pm_card_visa");
    const invoice = h.invoice("inv_void_first", "cust_void_first", "9.00");
    await h.voided(invoice);
    await h.finalized(invoice);
    await h.finalized(h.invoice("inv_void_first_marker", "cust_void_first", "1.00"));
    await waitFor(() => h.published.succeeded.some((e) => e.attempt?.invoiceId === "inv_void_first_marker"));
    expect((await p.client.listPaymentAttempts({ invoiceId: "inv_void_first" })).attempts).toHaveLength(0);
    expect(h.chargesFor("inv_void_first")).toHaveLength(0);
  });

  it("bad input: unknown invoice NOT_FOUND, paid FAILED_PRECONDITION, a key reused ALREADY_EXISTS, malformed INVALID_ARGUMENT naming the field", async () => {
    await expect(p.client.chargeInvoice({ invoiceId: "inv_never_seen", idempotencyKey: "k1" })).rejects.toMatchObject({ code: Code.NotFound });
    await expect(p.client.chargeInvoice({ invoiceId: "inv_ok", idempotencyKey: "k2" })).rejects.toMatchObject({ code: Code.FailedPrecondition });
    await expect(p.client.chargeInvoice({ invoiceId: "inv_dun", idempotencyKey: "manual-1" })).rejects.toMatchObject({ code: Code.AlreadyExists });
    const bad = (await p.client.chargeInvoice({ invoiceId: "has space", idempotencyKey: "" }).catch((e: unknown) => e)) as ConnectError;
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.message).toMatch(/invoice_id/);
    expect(bad.message).toMatch(/idempotency_key/);
    await expect(p.client.getPaymentAttempt({ paymentAttemptId: "pay_nope" })).rejects.toMatchObject({ code: Code.NotFound });
    await expect(p.client.listPaymentAttempts({ pageSize: -1 })).rejects.toMatchObject({ code: Code.InvalidArgument });
    await expect(p.client.setDefaultPaymentMethod({ customerId: "cust_x", paymentMethod: "pm_unknown_token" })).rejects.toMatchObject({ code: Code.InvalidArgument });
    await expect(p.client.getReconciliation({ currency: "usd" })).rejects.toMatchObject({ code: Code.InvalidArgument });
  });

  it("pages attempts newest first", async () => {
    const first = await p.client.listPaymentAttempts({ pageSize: 2 });
    expect(first.attempts).toHaveLength(2);
    const second = await p.client.listPaymentAttempts({ pageSize: 2, pageToken: first.nextPageToken });
    expect(second.attempts[0]!.id).not.toBe(first.attempts[1]!.id);
  });
});

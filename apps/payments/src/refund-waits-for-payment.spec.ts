import { payments as pb } from "@tally/contracts";
import { PaymentsHarness, waitFor, type PaymentsInstance } from "./testing/payments-harness";

// A credit note whose refund races the payment it refunds: the PaymentIntent succeeded at the
// provider, but its response was lost and its webhooks are late. The refund waits for the payment
// to be recorded — never sent before, never beyond what was paid, never dropped.
describe("a refund racing a payment not yet recorded", () => {
  let h: PaymentsHarness;
  let p: PaymentsInstance;
  beforeAll(async () => {
    h = await PaymentsHarness.create(new Date().toISOString());
    p = await h.start({ stripeTimeoutMs: 500 });
  });
  afterAll(async () => {
    await p.stop();
    await h.close();
  });

  const providerRefunds = (invoiceId: string) =>
    [...h.stripe.api.refunds.values()].filter((r) => (r.metadata as Record<string, string>).tally_invoice_id === invoiceId).map((r) => Number(r.amount));

  const refunds = async (invoiceId: string) =>
    (await p.client.listRefunds({ invoiceId })).refunds.map((r) => [r.creditNoteId, r.status, r.amount?.amount, r.failureCode]).sort();

  async function attemptStatus(invoiceId: string): Promise<string | undefined> {
    const { rows } = await p.running.deps.pool.query<{ status: string }>(`SELECT status FROM attempts WHERE invoice_id = $1 ORDER BY attempt_number DESC`, [invoiceId]);
    return rows[0]?.status;
  }

  /** Charged at the provider, but neither the response (lost twice) nor the webhooks (held) told payments. */
  async function chargedButUnrecorded(invoiceId: string, customerId: string, amount: string) {
    await p.client.setDefaultPaymentMethod({ customerId, paymentMethod: "pm_card_visa" });
    h.stripe.webhooks.faults = { hold: true };
    h.stripe.faults.add({ action: "lose_response", method: "POST", path: "/v1/payment_intents", times: 2 });
    const invoice = h.invoice(invoiceId, customerId, amount);
    await h.finalized(invoice);
    await waitFor(() => h.chargesFor(invoiceId).length === 1, 10_000, "the charge at the provider");
    expect(await attemptStatus(invoiceId)).toBe("pending");
    return invoice;
  }

  async function expectReconciled() {
    await h.stripe.webhooks.idle();
    await p.app.webhooks.idle();
    const r = await p.app.reconciliation.reconcile(new Date(h.clock.now().getTime() - 3600_000), new Date(h.clock.now().getTime() + 3600_000), "USD");
    expect(r.mismatches).toEqual([]);
    return r;
  }

  it("waits while the payment is unrecorded; the late webhooks (out of order) record it and release the refunds that fit", async () => {
    const invoice = await chargedButUnrecorded("inv_race", "c_race", "100.00");
    await h.creditNote(invoice, "cn_race_a", "30.00");
    await h.creditNote(invoice, "cn_race_b", "80.00"); // 30 + 80 > 100: only one of them can be paid back
    await waitFor(async () => (await refunds("inv_race")).length === 2, 10_000, "both refunds recorded");
    expect(await refunds("inv_race")).toEqual([
      ["cn_race_a", pb.RefundStatus.WAITING_FOR_PAYMENT, "30", ""],
      ["cn_race_b", pb.RefundStatus.WAITING_FOR_PAYMENT, "80", ""],
    ]);
    expect(providerRefunds("inv_race")).toEqual([]); // nothing sent before the payment is recorded

    h.stripe.webhooks.faults = {};
    h.stripe.webhooks.release("reverse");
    await waitFor(async () => (await refunds("inv_race")).every((r) => r[1] === pb.RefundStatus.SUCCEEDED || r[1] === pb.RefundStatus.FAILED), 10_000, "refunds settled");
    expect(await refunds("inv_race")).toEqual([
      ["cn_race_a", pb.RefundStatus.SUCCEEDED, "30", ""],
      ["cn_race_b", pb.RefundStatus.FAILED, "80", "refund_exceeds_paid"],
    ]);
    expect(providerRefunds("inv_race")).toEqual([3000]);
    expect(h.chargesFor("inv_race")).toHaveLength(1);

    await p.app.sweep(0); // the replay of the attempt's key changes nothing now
    expect(providerRefunds("inv_race")).toEqual([3000]);
    expect(h.published.refunded.filter((e) => e.invoiceId === "inv_race").map((e) => e.amount?.amount)).toEqual(["30"]);
    await expectReconciled();
  });

  it("waits, then the sweep's replay of the lost response records the payment and the full refund goes out once", async () => {
    const invoice = await chargedButUnrecorded("inv_race_sweep", "c_race_sweep", "40.00");
    await h.creditNote(invoice, "cn_race_full", "40.00");
    await waitFor(async () => (await refunds("inv_race_sweep")).length === 1);
    expect((await refunds("inv_race_sweep"))[0]![1]).toBe(pb.RefundStatus.WAITING_FOR_PAYMENT);
    await p.app.refunds.resolvePending(0); // a waiting refund is not a pending one: nothing is sent
    expect(providerRefunds("inv_race_sweep")).toEqual([]);

    await p.app.sweep(0);
    await waitFor(async () => (await refunds("inv_race_sweep"))[0]![1] === pb.RefundStatus.SUCCEEDED, 10_000, "refund sent after the replay");
    expect(providerRefunds("inv_race_sweep")).toEqual([4000]);
    h.stripe.webhooks.faults = {};
    h.stripe.webhooks.release(); // late and duplicate news of the same payment and refund
    await p.app.sweep(0);
    expect(providerRefunds("inv_race_sweep")).toEqual([4000]);
    expect(h.chargesFor("inv_race_sweep")).toHaveLength(1);
    await expectReconciled();
  });

  it("a refund waiting on an invoice that is then voided unpaid fails as nothing_paid, visibly", async () => {
    await p.client.setDefaultPaymentMethod({ customerId: "c_race_declined", paymentMethod: "pm_card_chargeDeclined" });
    const invoice = h.invoice("inv_race_declined", "c_race_declined", "25.00");
    await h.finalized(invoice);
    await waitFor(() => h.published.failed.some((e) => e.attempt?.invoiceId === "inv_race_declined"));
    await h.creditNote(invoice, "cn_race_declined", "5.00");
    await waitFor(async () => (await refunds("inv_race_declined"))[0]?.[1] === pb.RefundStatus.WAITING_FOR_PAYMENT, 10_000, "waiting (dunning may still collect)");
    await h.voided(invoice);
    await waitFor(async () => (await refunds("inv_race_declined"))[0]?.[1] === pb.RefundStatus.FAILED, 10_000, "given up after the void");
    expect(await refunds("inv_race_declined")).toEqual([["cn_race_declined", pb.RefundStatus.FAILED, "5", "nothing_paid"]]);
    expect(providerRefunds("inv_race_declined")).toEqual([]);
  });
});

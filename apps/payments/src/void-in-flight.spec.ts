import { payments as pb } from "@tally/contracts";
import Stripe from "stripe";
import { PaymentsHarness, STRIPE_KEY, waitFor, type PaymentsInstance } from "./testing/payments-harness";

// An invoice voided while its PaymentIntent is in flight. Whatever the provider did decides:
// a charge that still went through is recorded and refunded in full (reason invoice_voided), one
// still cancelable is canceled, one that never reached the provider is never made by a replay.
// Reconciliation accounts for every cent.
describe("voiding an invoice with a payment in flight", () => {
  let h: PaymentsHarness;
  let p: PaymentsInstance;
  let stripe: Stripe;
  const TIMEOUT_MS = 500;
  beforeAll(async () => {
    h = await PaymentsHarness.create(new Date().toISOString());
    p = await h.start({ stripeTimeoutMs: TIMEOUT_MS });
    stripe = new Stripe(STRIPE_KEY, { host: h.stripe.host, port: h.stripe.port, protocol: "http", maxNetworkRetries: 0 });
  });
  afterAll(async () => {
    await p.stop();
    await h.close();
  });

  const intentsFor = (invoiceId: string) =>
    [...h.stripe.api.paymentIntents.values()].filter((pi) => (pi.metadata as Record<string, string>).tally_invoice_id === invoiceId).map((pi) => String(pi.status));
  const providerRefunds = (invoiceId: string) =>
    [...h.stripe.api.refunds.values()].filter((r) => (r.metadata as Record<string, string>).tally_invoice_id === invoiceId).map((r) => Number(r.amount)).sort((a, b) => a - b);
  const refunds = async (invoiceId: string) =>
    (await p.client.listRefunds({ invoiceId })).refunds.map((r) => [r.reason, r.creditNoteId, r.status, r.amount?.amount]).sort();
  const attempt = async (invoiceId: string) =>
    (await p.running.deps.pool.query<{ id: string; status: string; failure_code: string }>(`SELECT id, status, failure_code FROM attempts WHERE invoice_id = $1`, [invoiceId])).rows[0]!;
  const invoiceState = async (invoiceId: string) => (await p.running.deps.pool.query<{ state: string }>(`SELECT state FROM invoices WHERE id = $1`, [invoiceId])).rows[0]!.state;

  async function reconciled() {
    await h.stripe.webhooks.idle();
    await p.app.webhooks.idle();
    const r = await p.app.reconciliation.reconcile(new Date(h.clock.now().getTime() - 3600_000), new Date(h.clock.now().getTime() + 3600_000), "USD");
    expect(r.mismatches).toEqual([]);
    return r;
  }

  it("succeeded at the provider, unrecorded when voided: recorded, then refunded whole (a waiting credit note first); reconciliation explains it", async () => {
    await p.client.setDefaultPaymentMethod({ customerId: "c_void_paid", paymentMethod: "pm_card_visa" });
    h.stripe.webhooks.faults = { hold: true };
    h.stripe.faults.add({ action: "lose_response", method: "POST", path: "/v1/payment_intents", times: 2 });
    const invoice = h.invoice("inv_void_paid", "c_void_paid", "100.00");
    await h.finalized(invoice);
    await waitFor(() => intentsFor("inv_void_paid").includes("succeeded"), 10_000, "the charge at the provider");
    await h.creditNote(invoice, "cn_void_paid", "10.00"); // waits for the payment
    await h.voided(invoice);

    await waitFor(async () => (await refunds("inv_void_paid")).every((r) => r[2] === pb.RefundStatus.SUCCEEDED) && (await refunds("inv_void_paid")).length === 2, 10_000, "refunds");
    expect(await refunds("inv_void_paid")).toEqual([
      ["credit_note", "cn_void_paid", pb.RefundStatus.SUCCEEDED, "10"],
      ["invoice_voided", "", pb.RefundStatus.SUCCEEDED, "90"],
    ]);
    expect(providerRefunds("inv_void_paid")).toEqual([1000, 9000]);
    expect(await attempt("inv_void_paid")).toMatchObject({ status: "succeeded" });
    expect(await invoiceState("inv_void_paid")).toBe("void");
    expect(h.published.refunded.filter((e) => e.invoiceId === "inv_void_paid").map((e) => e.reason).sort()).toEqual(["credit_note", "invoice_voided"]);

    // the late webhooks and a sweep change nothing: one charge, 100 back
    h.stripe.webhooks.faults = {};
    h.stripe.webhooks.release("reverse");
    await p.app.sweep(0);
    expect(intentsFor("inv_void_paid")).toEqual(["succeeded"]);
    expect(providerRefunds("inv_void_paid")).toEqual([1000, 9000]);
    const r = await reconciled();
    expect(r).toMatchObject({ invoicedTotal: "0", collectedTotal: "100", voidedCollectedTotal: "100", refundedTotal: "100", outstandingTotal: "0" });
  });

  it("still cancelable at the provider (awaiting authentication): canceled there, nothing collected", async () => {
    const cus = (await p.client.setDefaultPaymentMethod({ customerId: "c_void_cancel", paymentMethod: "pm_card_visa" })).customer!;
    h.stripe.faults.add({ action: "error_500", method: "POST", path: "/v1/payment_intents" });
    const invoice = h.invoice("inv_void_cancel", "c_void_cancel", "20.00");
    await h.finalized(invoice);
    await waitFor(async () => (await attempt("inv_void_cancel").catch(() => undefined))?.status === "pending");
    // The attempt's PaymentIntent, left awaiting the customer's authentication (a 3-D Secure card on session).
    const { id } = await attempt("inv_void_cancel");
    const authCard = await stripe.paymentMethods.attach("pm_card_authenticationRequired", { customer: cus.providerCustomerId });
    await stripe.paymentIntents.create({
      amount: 2000,
      currency: "usd",
      customer: cus.providerCustomerId,
      payment_method: authCard.id,
      confirm: true,
      metadata: { tally_invoice_id: "inv_void_cancel", tally_attempt_id: id },
    });
    expect(intentsFor("inv_void_cancel")).toEqual(["requires_action"]);

    await h.voided(invoice);
    await waitFor(async () => (await attempt("inv_void_cancel")).status === "canceled", 10_000, "attempt canceled");
    expect(intentsFor("inv_void_cancel")).toEqual(["canceled"]);
    await p.app.sweep(0); // never replayed: a voided invoice's charge is not made
    expect(intentsFor("inv_void_cancel")).toEqual(["canceled"]);
    expect(await refunds("inv_void_cancel")).toEqual([]);
    await reconciled();
  });

  it("never reached the provider: not replayed; presumed canceled once our request has surely ended; a charge that shows up later is refunded", async () => {
    const cus = (await p.client.setDefaultPaymentMethod({ customerId: "c_void_none", paymentMethod: "pm_card_visa" })).customer!;
    h.stripe.faults.add({ action: "error_500", method: "POST", path: "/v1/payment_intents" });
    const invoice = h.invoice("inv_void_none", "c_void_none", "30.00");
    await h.finalized(invoice);
    await waitFor(async () => (await attempt("inv_void_none").catch(() => undefined))?.status === "pending");
    await h.voided(invoice);
    await waitFor(async () => (await invoiceState("inv_void_none")) === "void");

    await p.app.sweep(0); // too young to presume anything: stays pending, and no charge is made
    expect((await attempt("inv_void_none")).status).toBe("pending");
    h.clock.advance(TIMEOUT_MS + 1);
    await p.app.sweep(0);
    expect(await attempt("inv_void_none")).toMatchObject({ status: "canceled", failure_code: "invoice_voided" });
    expect(intentsFor("inv_void_none")).toEqual([]);
    await reconciled();

    // A request delayed in transit past our timeout still charges the customer: recorded, refunded.
    const { id } = await attempt("inv_void_none");
    await stripe.paymentIntents.create({
      amount: 3000,
      currency: "usd",
      customer: cus.providerCustomerId,
      payment_method: cus.defaultPaymentMethod,
      confirm: true,
      off_session: true,
      metadata: { tally_invoice_id: "inv_void_none", tally_attempt_id: id },
    });
    await waitFor(async () => (await refunds("inv_void_none"))[0]?.[2] === pb.RefundStatus.SUCCEEDED, 10_000, "the late charge refunded");
    expect(await refunds("inv_void_none")).toEqual([["invoice_voided", "", pb.RefundStatus.SUCCEEDED, "30"]]);
    expect(providerRefunds("inv_void_none")).toEqual([3000]);
    expect((await attempt("inv_void_none")).status).toBe("succeeded");
    await reconciled();
  });
});

import { Decimal } from "@tally/pricing";
import { admitRefund, releaseWaiting, voidRefundAmount } from "./refund";
import { reconcile } from "./reconciliation";

const d = (x: string) => new Decimal(x);

describe("refund decisions", () => {
  it.each([
    // state, paid, committed, asked, in flight → decision
    ["paid", "100", "30", "70", false, "pending"], // 30 + 70 = 100: fits exactly
    ["paid", "100", "30", "70.01", false, "failed:refund_exceeds_paid"],
    ["open", "0", "0", "10", false, "waiting"], // still owed: a payment may come
    ["uncollectible", "0", "0", "10", false, "waiting"], // ChargeInvoice may still collect it
    ["void", "0", "0", "10", true, "waiting"], // its attempt may have succeeded at the provider
    ["void", "0", "0", "10", false, "failed:nothing_paid"],
    ["void", "50", "0", "10", false, "pending"], // a voided invoice's late payment was recorded
  ] as const)("%s invoice, paid %s, %s committed, %s asked, in flight %s → %s", (state, paid, committed, asked, inFlight, expected) => {
    const r = admitRefund({ state, amountPaid: paid }, d(committed), asked, inFlight);
    expect(r.failureCode ? `${r.status}:${r.failureCode}` : r.status).toBe(expected);
  });

  it("releases waiting refunds oldest first while they fit", () => {
    // paid 100, 20 already committed: 30 fits (50), 60 does not (110), 50 does (100)
    const out = releaseWaiting(d("100"), d("20"), [
      { id: "a", amount: "30" },
      { id: "b", amount: "60" },
      { id: "c", amount: "50" },
    ]);
    expect(out.map((r) => `${r.id}:${r.status}`)).toEqual(["a:pending", "b:failed", "c:pending"]);
  });

  it("a voided invoice's payment is returned less what credit notes already return", () => {
    expect(voidRefundAmount(d("100"), d("10")).toFixed()).toBe("90");
    expect(voidRefundAmount(d("100"), d("100")).toFixed()).toBe("0");
  });
});

describe("reconciliation of a voided invoice's payment", () => {
  const attempt = { id: "pay_v_1", invoiceId: "v", status: "succeeded" as const, amount: "100", currency: "USD", providerPaymentId: "pi_1" };
  const provider = { payments: [{ id: "pi_1", attemptId: "pay_v_1", invoiceId: "v", succeeded: true, status: "succeeded", amount: "100", currency: "USD" }], refunded: new Map([["v", "100"]]) };

  it("explains it when all of it went back", () => {
    const r = reconcile({ invoices: [{ id: "v", amountDue: "100", state: "void" }], attempts: [attempt], refunded: new Map([["v", "100"]]) }, provider);
    expect(r).toMatchObject({ mismatches: [], invoicedTotal: "0", collectedTotal: "100", voidedCollectedTotal: "100", refundedTotal: "100", outstandingTotal: "0" });
  });

  it("finds money kept on a voided invoice", () => {
    const r = reconcile(
      { invoices: [{ id: "v", amountDue: "100", state: "void" }], attempts: [attempt], refunded: new Map([["v", "40"]]) },
      { ...provider, refunded: new Map([["v", "40"]]) },
    );
    expect(r.mismatches.map((m) => [m.kind, m.invoiceId, m.tallyAmount])).toEqual([["voided_not_refunded", "v", "60"]]);
  });
});

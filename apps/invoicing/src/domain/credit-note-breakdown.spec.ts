import { Decimal } from "@tally/pricing";
import { creditNoteBreakdown, creditNoteNumber } from "./credit-note-breakdown";
import { invoiceAmounts, type TaxRate } from "./invoice-amounts";
import type { CreditNote, Invoice, InvoiceLine } from "./types";

const d = (s: string) => new Decimal(s);
const period = { start: new Date("2026-11-01T00:00:00Z"), end: new Date("2026-12-01T00:00:00Z") };

/** A finalized invoice with its amounts from invoiceAmounts, as the period close makes them. */
function invoice(currency: string, lines: [string, string][], o: { credits?: string; balance?: string; taxRates?: TaxRate[] } = {}): Invoice {
  const a = invoiceAmounts({
    currency,
    lineAmounts: lines.map(([, amount]) => d(amount)),
    creditsBurned: d(o.credits ?? "0"),
    balanceAvailable: d(o.balance ?? "0"),
    taxRates: o.taxRates ?? [],
    taxExempt: false,
  });
  const invoiceLines: InvoiceLine[] = lines.map(([description, amount], i) => ({
    ref: `ref${i}`, kind: "usage", componentKey: "", dimensionValue: "", description, quantity: d("1"), amount: d(amount), roundedAmount: a.roundedLines[i]!, period, details: [],
  }));
  return {
    id: "inv_1", number: "TLY-000007", customerId: "cus_1", subscriptionId: "sub_1", status: "finalized", currency, customerName: "Acme", period, segments: [], lines: invoiceLines,
    subtotal: a.subtotal, total: a.total, creditsApplied: a.creditsApplied, creditsBurned: a.creditsApplied, balanceApplied: a.balanceApplied, taxableAmount: a.taxableAmount, taxLines: a.taxLines, taxTotal: a.taxTotal,
    taxExempt: false, amountDue: a.amountDue, amountPaid: d("0"), amountCredited: d("0"), amountRefunded: d("0"), sequencePrefix: "TLY", createTime: period.end, finalizeAfter: period.end,
    finalizeTime: period.end, dueTime: period.end, paidTime: null, voidTime: null,
  };
}

const note = (amount: string, currency = "USD"): CreditNote => ({
  id: "cn_1", invoiceId: "inv_1", idempotencyKey: "k", amount: d(amount), currency, reason: "outage", refundDue: d("0"), balanceCredited: d("0"), createTime: period.end,
});

const sum = (xs: Decimal[]) => xs.reduce((s, x) => s.plus(x), d("0"));
const VAT = { name: "VAT", percent: d("20") };
const CITY = { name: "City tax", percent: d("1.5") };

describe("creditNoteBreakdown: a credit note split over the invoice's charges and taxes", () => {
  it("numbers notes after their invoice, two digits at least", () => {
    expect(creditNoteNumber("TLY-000007", 1)).toBe("TLY-000007-CN-01");
    expect(creditNoteNumber("TLY-000007", 123)).toBe("TLY-000007-CN-123");
  });

  it("credits charges and each rate in the invoice's proportions", () => {
    // lines 50.00 + 6.00 = 56.00; VAT 11.20, city 0.84 → gross 68.04.
    // 20.00 credited: net 20 × 56 / 68.04 = 16.4609…, VAT 20 × 11.2 / 68.04 = 3.2921…, city 0.2469…
    // floors 16.46 + 3.29 + 0.24 = 19.99; the missing cent goes to the largest remainder (city, .0069) → 0.25.
    const b = creditNoteBreakdown(invoice("USD", [["Pro plan", "50"], ["Tokens", "6"]], { taxRates: [VAT, CITY] }), note("20"), 1);
    expect(b.number).toBe("TLY-000007-CN-01");
    expect(b.netAmount.toFixed(2)).toBe("16.46");
    expect(b.taxLines.map((t) => [t.name, t.percent.toFixed(), t.taxableAmount.toFixed(2), t.amount.toFixed(2)])).toEqual([
      ["VAT", "20", "16.46", "3.29"],
      ["City tax", "1.5", "16.46", "0.25"],
    ]);
    // net over lines: 16.46 × 50/56 = 14.6964…, 16.46 × 6/56 = 1.7635…; floors 14.69 + 1.76 = 16.45, the missing cent to the larger remainder (.0064) → 14.70
    expect(b.lines.map((l) => [l.description, l.invoiceAmount.toFixed(2), l.amount.toFixed(2)])).toEqual([
      ["Pro plan", "50.00", "14.70"],
      ["Tokens", "6.00", "1.76"],
    ]);
    expect(sum(b.lines.map((l) => l.amount)).eq(b.netAmount)).toBe(true);
    expect(b.netAmount.plus(sum(b.taxLines.map((t) => t.amount))).eq("20")).toBe(true);
  });

  it("a full credit gives back exactly the invoice's lines and taxes", () => {
    const i = invoice("USD", [["Pro plan", "50"], ["Tokens", "6"]], { taxRates: [VAT, CITY] });
    const b = creditNoteBreakdown(i, note(i.amountDue.toFixed()), 1);
    expect(b.netAmount.eq(i.taxableAmount)).toBe(true);
    expect(b.taxLines.map((t) => t.amount.toFixed(2))).toEqual(i.taxLines.map((t) => t.amount.toFixed(2)));
    expect(b.lines.map((l) => l.amount.toFixed(2))).toEqual(["50.00", "6.00"]);
  });

  it("without taxes everything is net; credits applied on the invoice scale the lines down", () => {
    // total 100, credits 40 → taxable 60; credit 30 = net 30 over lines 75/25 → 22.50 + 7.50.
    const b = creditNoteBreakdown(invoice("USD", [["Fee", "75"], ["Usage", "25"]], { credits: "40" }), note("30"), 2);
    expect(b.number).toBe("TLY-000007-CN-02");
    expect(b.netAmount.toFixed(2)).toBe("30.00");
    expect(b.taxLines).toEqual([]);
    expect(b.lines.map((l) => l.amount.toFixed(2))).toEqual(["22.50", "7.50"]);
  });

  it("in a zero-decimal currency, a negative adjustment takes its negative share, and untouched lines are left out", () => {
    // JPY: 1000 + 500 − 300 + 0 = 1200; credit 100 → 83.33 + 41.67 − 25 → 83 + 42 − 25 = 100.
    const b = creditNoteBreakdown(invoice("JPY", [["A", "1000"], ["B", "500"], ["Cap", "-300"], ["Free", "0"]]), note("100", "JPY"), 1);
    expect(b.lines.map((l) => [l.description, l.amount.toFixed()])).toEqual([
      ["A", "83"],
      ["B", "42"],
      ["Cap", "-25"],
    ]);
    expect(sum(b.lines.map((l) => l.amount)).eq(100)).toBe(true);
  });

  it("a balance the invoice used does not change the proportions", () => {
    const withBalance = creditNoteBreakdown(invoice("USD", [["Pro plan", "50"]], { taxRates: [VAT], balance: "10" }), note("12"), 1);
    const without = creditNoteBreakdown(invoice("USD", [["Pro plan", "50"]], { taxRates: [VAT] }), note("12"), 1);
    // 12 × 50/60 = 10.00 net, 2.00 VAT either way.
    expect([withBalance.netAmount.toFixed(2), withBalance.taxLines[0]!.amount.toFixed(2)]).toEqual(["10.00", "2.00"]);
    expect(without.netAmount.eq(withBalance.netAmount)).toBe(true);
  });
});

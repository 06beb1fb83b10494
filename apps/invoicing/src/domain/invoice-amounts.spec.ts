import { Decimal } from "@tally/pricing";
import { allocateLargestRemainder, invoiceAmounts } from "./invoice-amounts";

const d = (s: string) => new Decimal(s);
const third = (n: string) => d(n).div(3);
const base = { creditsBurned: d("0"), balanceAvailable: d("0"), taxRates: [], taxExempt: false };

describe("invoiceAmounts rounding, once, to the ISO 4217 exponent with ROUND_HALF_EVEN", () => {
  it("$50 → $100 upgrade on day 10 of 30: −33.333… + 66.666… totals 33.33, printed lines add up to it", () => {
    // Per-line rounding would print −33.33 + 66.67 = 33.34.
    const a = invoiceAmounts({ ...base, currency: "USD", lineAmounts: [d("-50").times(20).div(30), d("100").times(20).div(30)] });
    expect(a.total.toFixed()).toBe("33.33");
    expect(a.roundedLines.map((l) => l.toFixed(2))).toEqual(["-33.33", "66.66"]);
    expect(a.roundedLines.reduce((s, l) => s.plus(l), d("0")).toFixed()).toBe("33.33");
    expect(a.amountDue.toFixed()).toBe("33.33");
  });

  it.each([
    // currency, lines, total, rounded lines
    ["JPY", ["100.5", "200.5"], "301", ["101", "200"]], // 301 exactly; equal remainders 0.5 + 0.5 → one unit, to the earlier line
    ["JPY", ["0.5"], "0", ["0"]], // half to even: 0
    ["JPY", ["1.5"], "2", ["2"]], // half to even: 2
    ["USD", ["0.125", "0.125"], "0.25", ["0.13", "0.12"]],
    ["USD", ["2.345"], "2.34", ["2.34"]], // half-even
    ["KWD", ["1.0005", "1.0005"], "2.001", ["1.001", "1.000"]],
    ["KWD", ["0.0125"], "0.012", ["0.012"]],
    ["CLF", ["0.33335", "0.33335", "0.33335"], "1.0000", ["0.3334", "0.3333", "0.3333"]], // 1.00005 → 1.0000
    ["CLF", ["12.34565"], "12.3456", ["12.3456"]],
  ])("%s %j → total %s, lines %j", (currency, lines, total, rounded) => {
    const a = invoiceAmounts({ ...base, currency, lineAmounts: lines.map(d) });
    expect(a.total.toFixed()).toBe(d(total).toFixed());
    expect(a.roundedLines.map((l) => l.toFixed())).toEqual(rounded.map((r) => d(r).toFixed()));
    expect(a.roundedLines.reduce((s, l) => s.plus(l), d("0")).eq(a.total)).toBe(true);
  });

  it("allocation keeps every printed line within one minor unit of its precise amount and sums exactly", () => {
    const amounts = [third("1"), third("1"), third("1"), third("-2"), d("7.005")];
    const total = d("7.34"); // Σ = 1/3 + 1/3 + 1/3 − 2/3 + 7.005 = 7.33833…
    const out = allocateLargestRemainder(total, amounts, 2);
    expect(out.reduce((s, l) => s.plus(l), d("0")).eq(total)).toBe(true);
    out.forEach((o, i) => expect(o.minus(amounts[i]!).abs().lt("0.01")).toBe(true));
  });
});

describe("invoiceAmounts credits, taxes and balance", () => {
  it("applies credits (rounded from the ledger), then taxes per rate on what is left, then the balance", () => {
    // total 100.00; credits 30.004 → 30.00; taxable 70.00; VAT 20% = 14.00, city 0.5% = 0.35; owed 84.35; balance 10 → due 74.35
    const a = invoiceAmounts({
      currency: "USD",
      lineAmounts: [d("100")],
      creditsBurned: d("30.004"),
      balanceAvailable: d("10"),
      taxRates: [
        { name: "VAT", percent: d("20") },
        { name: "City", percent: d("0.5") },
      ],
      taxExempt: false,
    });
    expect(a.creditsApplied.toFixed()).toBe("30");
    expect(a.taxableAmount.toFixed()).toBe("70");
    expect(a.taxLines.map((t) => [t.name, t.amount.toFixed()])).toEqual([
      ["VAT", "14"],
      ["City", "0.35"],
    ]);
    expect(a.balanceApplied.toFixed()).toBe("10");
    expect(a.amountDue.toFixed()).toBe("74.35");
  });

  it("never lets the amount due go negative: credits stop at the total, the balance at what is owed", () => {
    const a = invoiceAmounts({ ...base, currency: "USD", lineAmounts: [d("5")], creditsBurned: d("8"), balanceAvailable: d("3") });
    expect(a.creditsApplied.toFixed()).toBe("5");
    expect(a.balanceApplied.toFixed()).toBe("0");
    expect(a.amountDue.toFixed()).toBe("0");
  });

  it("computes no tax for an exempt customer", () => {
    const a = invoiceAmounts({ ...base, currency: "EUR", lineAmounts: [d("10")], taxRates: [{ name: "VAT", percent: d("19") }], taxExempt: true });
    expect(a.taxLines).toEqual([]);
    expect(a.amountDue.toFixed()).toBe("10");
  });
});

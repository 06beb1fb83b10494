import { Decimal } from "@tally/pricing";
import { applyRunningAmount, meterUnits, type AppliedAmount } from "./running-amount";

const d = (s: string) => new Decimal(s);
const kept: AppliedAmount = { sequence: 5n, planKey: "pro", planVersion: 1, quantity: d("100"), baseQuantity: d("0"), amount: d("1.5") };

describe("applyRunningAmount", () => {
  it("applies a newer sequence; the spend delta is the change of the running amount", () => {
    const r = applyRunningAmount(kept, { sequence: 6n, planKey: "pro", planVersion: 1, quantity: d("150"), amount: d("2.25") });
    expect(r.apply && r.spendDelta.toFixed()).toBe("0.75"); // 2.25 − 1.5
  });

  it.each([5n, 4n])("ignores a repeated or older sequence (%s)", (sequence) => {
    expect(applyRunningAmount(kept, { sequence, planKey: "pro", planVersion: 1, quantity: d("999"), amount: d("99") })).toEqual({ apply: false });
  });

  it("a lower amount (volume tier drop) is a negative delta", () => {
    const r = applyRunningAmount(kept, { sequence: 9n, planKey: "pro", planVersion: 1, quantity: d("120"), amount: d("1.2") });
    expect(r.apply && r.spendDelta.toFixed()).toBe("-0.3");
  });

  it("moves the previous segment's quantity into the base when the plan changes mid-period", () => {
    const r = applyRunningAmount(kept, { sequence: 6n, planKey: "pro", planVersion: 2, quantity: d("10"), amount: d("1.6") });
    expect(r.apply && r.next.baseQuantity.plus(r.next.quantity).toFixed()).toBe("110");
  });
});

describe("meterUnits", () => {
  it("sums dimension values per component and takes the largest component", () => {
    const rows = [
      { componentKey: "input", quantity: d("70") }, // model=a
      { componentKey: "input", quantity: d("30") }, // model=b → 100
      { componentKey: "input_surcharge", quantity: d("100") }, // the same meter priced twice
    ];
    expect(meterUnits(rows).toFixed()).toBe("100");
  });
});

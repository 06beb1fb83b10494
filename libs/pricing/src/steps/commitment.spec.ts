import { createPricer } from "../create-pricer";
import { toWire } from "../decimal";
import { d, describePriceCases } from "../testing/price-cases";
import type { Price } from "../types";

// 0.10 per unit, at least 20 and at most 100 per period.
const committed: Price = { model: { kind: "per_unit", unitAmount: d("0.10") }, minimum: d("20"), maximum: d("100") };

describePriceCases("minimum and maximum", [
  // minimum = "at least this much per period": 0 usage → 0 + 20 top-up = 20
  { name: "zero usage pays the minimum", price: committed, quantity: "0", amount: "20", lines: [["per_unit", "0", "0"], ["minimum", "0", "20"]] },
  // 150 × 0.10 = 15 < 20 → 15 + 5 = 20
  { name: "below the minimum", price: committed, quantity: "150", amount: "20", lines: [["per_unit", "150", "15"], ["minimum", "0", "5"]] },
  // 500 × 0.10 = 50, between the bounds
  { name: "between the bounds", price: committed, quantity: "500", amount: "50", lines: [["per_unit", "500", "50"]] },
  // 2000 × 0.10 = 200 > 100 → 200 − 100 = 100
  { name: "above the maximum", price: committed, quantity: "2000", amount: "100", lines: [["per_unit", "2000", "200"], ["maximum", "0", "-100"]] },
]);

describe("commitment helpers", () => {
  const pricer = createPricer(committed);

  it("increments are changes of the clamped amount", () => {
    // 0 → 150: 20 − 20 = 0;  150 → 500: 50 − 20 = 30;  500 → 2000: 100 − 50 = 50
    expect([["0", "150"], ["150", "500"], ["500", "2000"]].map(([a, b]) => toWire(pricer.increment(d(a!), d(b!))))).toEqual(["0", "30", "50"]);
  });

  it("explains the adjustment", () => {
    expect(pricer.total(d("150")).lines[1]?.description).toBe(
      "Minimum commitment of 20 per period: usage came to 15, topped up by 5",
    );
  });
});

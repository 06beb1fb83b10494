import { createPricer } from "../create-pricer";
import { toWire } from "../decimal";
import { d, describePriceCases, tier } from "../testing/price-cases";
import { INCLUDED_TIER_INDEX, type Price } from "../types";

// First 1000 units free, then 0.01 each.
const free1000: Price = { model: { kind: "per_unit", unitAmount: d("0.01") }, includedUnits: d("1000") };
// 50 free, then graduated: the tier bounds count billable units (after the 50).
const freeThenTiers: Price = {
  model: { kind: "graduated", tiers: [tier("100", "0.10"), tier(null, "0.05")] },
  includedUnits: d("50"),
};

describePriceCases("included units", [
  // all within the included 1000
  { name: "inside the allowance", price: free1000, quantity: "500", amount: "0", lines: [["included", "500", "0"], ["per_unit", "0", "0"]] },
  // exactly the allowance: (1000 − 1000) × 0.01 = 0
  { name: "exactly the allowance", price: free1000, quantity: "1000", amount: "0" },
  // (1500 − 1000) × 0.01 = 5
  { name: "past the allowance", price: free1000, quantity: "1500", amount: "5", lines: [["included", "1000", "0"], ["per_unit", "500", "5"]] },
  // (1000.5 − 1000) × 0.01 = 0.005
  { name: "fractional overage", price: free1000, quantity: "1000.5", amount: "0.005" },
  // billable 200: 100 × 0.10 + 100 × 0.05 = 15
  {
    name: "before tiers",
    price: freeThenTiers,
    quantity: "250",
    amount: "15",
    lines: [["included", "50", "0"], ["tier:0", "100", "10"], ["tier:1", "100", "5"]],
  },
]);

describe("included units on the raw scale", () => {
  const pricer = createPricer(freeThenTiers);

  it("reports tier bounds in raw quantities in lines", () => {
    const lines = pricer.total(d("250")).lines;
    expect(lines.map((l) => [l.ref, l.lowerBound && toWire(l.lowerBound), l.upperBound && toWire(l.upperBound)])).toEqual([
      ["included", "0", "50"],
      ["tier:0", "50", "150"],
      ["tier:1", "150", null],
    ]);
    expect(lines[1]?.description).toBe("Tier 1 (over 50 up to 150): 100 × 0.1 = 10");
  });

  it("positions the included band as tier -1", () => {
    const p = pricer.position(d("20"));
    expect(p.tierIndex).toBe(INCLUDED_TIER_INDEX);
    expect([toWire(p.nextThreshold!), toWire(p.unitsToNextThreshold!)]).toEqual(["50", "30"]);
    const q = pricer.position(d("60"));
    expect([q.tierIndex, toWire(q.lowerBound), toWire(q.upperBound!), toWire(q.unitsToNextThreshold!)]).toEqual([0, "50", "150", "90"]);
  });

  it("counts the end of the allowance as the crossing included → tier 0", () => {
    const up = pricer.crossings(d("0"), d("200"));
    expect(up.map((c) => [c.fromTier, c.toTier, toWire(c.threshold), c.direction])).toEqual([
      [-1, 0, "50", "up"],
      [0, 1, "150", "up"],
    ]);
    const down = pricer.crossings(d("200"), d("10"));
    expect(down.map((c) => [c.fromTier, c.toTier, toWire(c.threshold), c.direction])).toEqual([
      [1, 0, "150", "down"],
      [0, -1, "50", "down"],
    ]);
  });
});

import { createPricer } from "../create-pricer";
import { toWire } from "../decimal";
import { d, describePriceCases, tier } from "../testing/price-cases";
import type { Price } from "../types";

// Up to 100 at 0.10, up to 1000 at 0.08, then 0.05.
const api: Price = { model: { kind: "graduated", tiers: [tier("100", "0.10"), tier("1000", "0.08"), tier(null, "0.05")] } };
// A platform-access flat in tier 1 and a step-up flat in tier 2.
const withFlats: Price = {
  model: { kind: "graduated", tiers: [tier("100", "0", "10"), tier("1000", "0.05", "20"), tier(null, "0.01")] },
};
// Tokens priced per token at nano-dollar prices.
const tokens: Price = {
  model: { kind: "graduated", tiers: [tier("1000000", "0.000000002"), tier(null, "0.000000001")] },
};

describePriceCases("graduated", [
  // zero usage: no tier entered, nothing charged
  { name: "zero usage", price: api, quantity: "0", amount: "0", lines: [["tier:0", "0", "0"]] },
  // 50 × 0.10 = 5
  { name: "inside the first tier", price: api, quantity: "50", amount: "5", lines: [["tier:0", "50", "5"]] },
  // 100 × 0.10 = 10 (upTo is inclusive: unit 100 is still tier 1)
  { name: "exactly on the first bound", price: api, quantity: "100", amount: "10", lines: [["tier:0", "100", "10"]] },
  // 100 × 0.10 + 50 × 0.08 = 14
  {
    name: "into the second tier",
    price: api,
    quantity: "150",
    amount: "14",
    lines: [["tier:0", "100", "10"], ["tier:1", "50", "4"]],
  },
  // 100 × 0.10 + 900 × 0.08 = 82
  { name: "exactly on the second bound", price: api, quantity: "1000", amount: "82" },
  // 100 × 0.10 + 900 × 0.08 + 0.5 × 0.05 = 82.025
  {
    name: "fractional quantity past the last bound",
    price: api,
    quantity: "1000.5",
    amount: "82.025",
    lines: [["tier:0", "100", "10"], ["tier:1", "900", "72"], ["tier:2", "0.5", "0.025"]],
  },
  // 0.001 × 0.10 = 0.0001
  { name: "tiny fractional quantity", price: api, quantity: "0.001", amount: "0.0001" },
  // 100.000000000001: 10 + 0.000000000001 × 0.08 = 10.00000000000008
  { name: "one picounit past a bound", price: api, quantity: "100.000000000001", amount: "10.00000000000008" },
  // 10 + 72 + (1e12 − 1000) × 0.05 = 82 + 49999999950 = 50000000032
  { name: "huge quantity (1e12)", price: api, quantity: "1000000000000", amount: "50000000032" },
  // flat first tier not charged at zero usage
  { name: "flat tier, zero usage", price: withFlats, quantity: "0", amount: "0", lines: [["tier:0", "0", "0"]] },
  // entering tier 1 charges its flat: 1 × 0 + 10 = 10
  { name: "flat tier, first unit", price: withFlats, quantity: "1", amount: "10" },
  // 100 × 0 + 10 = 10
  { name: "flat tier, on its bound", price: withFlats, quantity: "100", amount: "10" },
  // 10 + (0.5 × 0.05 + 20) = 30.025
  {
    name: "flat tier, half a unit into tier 2",
    price: withFlats,
    quantity: "100.5",
    amount: "30.025",
    lines: [["tier:0", "100", "10"], ["tier:1", "0.5", "20.025"]],
  },
  // 10 + (900 × 0.05 + 20) + 1000 × 0.01 = 10 + 65 + 10 = 85
  { name: "flat tiers, all three", price: withFlats, quantity: "2000", amount: "85" },
  // 1e6 × 0.000000002 + (1e12 − 1e6) × 0.000000001 = 0.002 + 999.999 = 1000.001
  { name: "tiny unit prices (1e-9) at 1e12 tokens", price: tokens, quantity: "1000000000000", amount: "1000.001" },
  // 1 × 0.000000002 = 0.000000002
  { name: "one token", price: tokens, quantity: "1", amount: "0.000000002" },
]);

describe("graduated helpers", () => {
  const pricer = createPricer(api);

  it("increments within a tier price only the units between", () => {
    // 120 → 130: 10 × 0.08 = 0.8
    expect(toWire(pricer.increment(d("120"), d("130")))).toBe("0.8");
  });

  it("increments across tiers price each unit at its own tier", () => {
    // 90 → 1010: 10 × 0.10 + 900 × 0.08 + 10 × 0.05 = 1 + 72 + 0.5 = 73.5
    expect(toWire(pricer.increment(d("90"), d("1010")))).toBe("73.5");
    expect(toWire(pricer.increment(d("1010"), d("90")))).toBe("-73.5");
  });

  it("reports position with the next threshold", () => {
    expect(pricer.position(d("0"))).toMatchObject({ tierIndex: 0, upperBound: d("100") });
    const p = pricer.position(d("150"));
    expect(p.tierIndex).toBe(1);
    expect(toWire(p.lowerBound)).toBe("100");
    expect(toWire(p.nextThreshold!)).toBe("1000");
    expect(toWire(p.unitsToNextThreshold!)).toBe("850");
    // on the bound: still tier 1 (0-based 0), 0 units left
    const on = pricer.position(d("100"));
    expect([on.tierIndex, toWire(on.unitsToNextThreshold!)]).toEqual([0, "0"]);
    expect(pricer.position(d("5000"))).toMatchObject({ tierIndex: 2, upperBound: null, nextThreshold: null, unitsToNextThreshold: null });
  });

  it("lists every threshold crossed, in order, both ways", () => {
    const up = pricer.crossings(d("50"), d("2000"));
    expect(up.map((c) => [c.fromTier, c.toTier, toWire(c.threshold), c.direction])).toEqual([
      [0, 1, "100", "up"],
      [1, 2, "1000", "up"],
    ]);
    const down = pricer.crossings(d("2000"), d("50"));
    expect(down.map((c) => [c.fromTier, c.toTier, toWire(c.threshold), c.direction])).toEqual([
      [2, 1, "1000", "down"],
      [1, 0, "100", "down"],
    ]);
    // reaching a bound exactly is not crossing it; the next unit is
    expect(pricer.crossings(d("50"), d("100"))).toEqual([]);
    expect(pricer.crossings(d("100"), d("100.1"))).toHaveLength(1);
  });

  it("describes lines with 1-based tier names and the arithmetic", () => {
    expect(pricer.total(d("150")).lines.map((l) => l.description)).toEqual([
      "Tier 1 (up to 100): 100 × 0.1 = 10",
      "Tier 2 (over 100 up to 1000): 50 × 0.08 = 4",
    ]);
  });
});

import { createPricer } from "../create-pricer";
import { toWire } from "../decimal";
import { d, describePriceCases, tier } from "../testing/price-cases";
import type { Price } from "../types";

// All units at 0.10 up to 100, at 0.08 up to 1000, else at 0.05.
const volume: Price = { model: { kind: "volume", tiers: [tier("100", "0.10"), tier("1000", "0.08"), tier(null, "0.05")] } };
// Flat price bands: 5 up to 10 units, 20 up to 100, then 20 + 0.1 per unit.
const bands: Price = { model: { kind: "volume", tiers: [tier("10", "0", "5"), tier("100", "0", "20"), tier(null, "0.1", "20")] } };

describePriceCases("volume", [
  // zero usage: nothing charged
  { name: "zero usage", price: volume, quantity: "0", amount: "0", lines: [["tier:0", "0", "0"]] },
  // 100 × 0.10 = 10
  { name: "exactly on the first bound", price: volume, quantity: "100", amount: "10", lines: [["tier:0", "100", "10"]] },
  // 101 × 0.08 = 8.08 — one more unit makes the total DROP from 10 to 8.08: all units repriced
  { name: "one unit past the bound: the total drops", price: volume, quantity: "101", amount: "8.08", lines: [["tier:1", "101", "8.08"]] },
  // 100.5 × 0.08 = 8.04
  { name: "fractional quantity", price: volume, quantity: "100.5", amount: "8.04" },
  // 1000 × 0.08 = 80
  { name: "exactly on the second bound", price: volume, quantity: "1000", amount: "80" },
  // 1001 × 0.05 = 50.05
  { name: "into the open tier", price: volume, quantity: "1001", amount: "50.05" },
  // 1e12 × 0.05 = 50000000000
  { name: "huge quantity (1e12)", price: volume, quantity: "1000000000000", amount: "50000000000" },
  // no band entered at zero usage: the flat 5 is not charged
  { name: "flat bands, zero usage", price: bands, quantity: "0", amount: "0" },
  // 3 × 0 + 5 = 5
  { name: "flat bands, first band", price: bands, quantity: "3", amount: "5", lines: [["tier:0", "3", "5"]] },
  // 10.5 × 0 + 20 = 20
  { name: "flat bands, second band", price: bands, quantity: "10.5", amount: "20" },
  // 150 × 0.1 + 20 = 35
  { name: "flat and unit amount together", price: bands, quantity: "150", amount: "35" },
]);

describe("volume helpers", () => {
  const pricer = createPricer(volume);

  it("increment is total(to) − total(from), negative when crossing into a cheaper tier", () => {
    // 101 × 0.08 − 100 × 0.10 = 8.08 − 10 = −1.92
    expect(toWire(pricer.increment(d("100"), d("101")))).toBe("-1.92");
    // within a tier: 10 × 0.08 = 0.8
    expect(toWire(pricer.increment(d("200"), d("210")))).toBe("0.8");
  });

  it("says that all units are at the tier's price", () => {
    expect(pricer.total(d("101")).lines[0]?.description).toBe("Tier 2 (over 100 up to 1000) applies to all units: 101 × 0.08 = 8.08");
  });

  it("crossings follow the same bounds as graduated", () => {
    expect(pricer.crossings(d("99"), d("101")).map((c) => [c.fromTier, c.toTier, toWire(c.threshold)])).toEqual([[0, 1, "100"]]);
  });
});

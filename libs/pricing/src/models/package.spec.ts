import { createPricer } from "../create-pricer";
import { toWire } from "../decimal";
import { d, describePriceCases } from "../testing/price-cases";
import type { Price } from "../types";

// 5 per started block of 100 units.
const blocks: Price = { model: { kind: "package", packageSize: d("100"), packageAmount: d("5") } };
// 0.01 per started half GPU-second.
const halves: Price = { model: { kind: "package", packageSize: d("0.5"), packageAmount: d("0.01") } };

describePriceCases("package", [
  // 0 blocks
  { name: "zero usage", price: blocks, quantity: "0", amount: "0", lines: [["package", "0", "0"]] },
  // ceil(1 / 100) = 1 × 5 = 5
  { name: "first unit starts a block", price: blocks, quantity: "1", amount: "5", lines: [["package", "1", "5"]] },
  // ceil(100 / 100) = 1 × 5 = 5
  { name: "exactly one block", price: blocks, quantity: "100", amount: "5" },
  // ceil(101 / 100) = 2 × 5 = 10
  { name: "partial block rounds up", price: blocks, quantity: "101", amount: "10" },
  // ceil(250.5 / 100) = 3 × 5 = 15
  { name: "fractional quantity", price: blocks, quantity: "250.5", amount: "15" },
  // ceil(1.2 / 0.5) = ceil(2.4) = 3 × 0.01 = 0.03
  { name: "fractional package size", price: halves, quantity: "1.2", amount: "0.03" },
  // 1e12 / 100 = 1e10 × 5 = 50000000000
  { name: "huge quantity (1e12)", price: blocks, quantity: "1000000000000", amount: "50000000000" },
  // ceil(1e12 + 1e-12 / 100) = 1e10 + 1 blocks × 5 = 50000000005
  { name: "huge quantity a picounit past a block", price: blocks, quantity: "1000000000000.000000000001", amount: "50000000005" },
]);

describe("package helpers", () => {
  const pricer = createPricer(blocks);

  it("increments only when a block is started", () => {
    expect(toWire(pricer.increment(d("101"), d("200")))).toBe("0");
    expect(toWire(pricer.increment(d("200"), d("200.5")))).toBe("5");
  });

  it("explains units, packages and package size", () => {
    const [line] = pricer.total(d("250")).lines;
    expect(line).toMatchObject({ ref: "package", kind: "package" });
    expect([toWire(line!.units!), toWire(line!.packageSize!), toWire(line!.quantity)]).toEqual(["250", "100", "3"]);
    expect(line!.description).toBe("Package: 250 units in packages of 100 (a started package counts in full): 3 × 5 = 15");
  });

  it("has one band and never reports block boundaries as crossings", () => {
    expect(pricer.crossings(d("0"), d("1000000000000"))).toEqual([]);
    expect(pricer.position(d("150"))).toMatchObject({ tierIndex: 0, upperBound: null, nextThreshold: null });
  });
});

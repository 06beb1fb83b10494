import { createPricer } from "../create-pricer";
import { toWire } from "../decimal";
import { d, describePriceCases } from "../testing/price-cases";
import type { Price } from "../types";

const platform: Price = { model: { kind: "flat_fee", amount: d("49") } };

describePriceCases("flat_fee", [
  // recurring: charged even with no usage, 1 × 49 = 49
  { name: "zero usage", price: platform, quantity: "0", amount: "49", lines: [["flat_fee", "1", "49"]] },
  // usage does not change it
  { name: "any usage", price: platform, quantity: "123456.789", amount: "49" },
]);

describe("flat_fee helpers", () => {
  it("never increments", () => {
    expect(toWire(createPricer(platform).increment(d("0"), d("1000")))).toBe("0");
  });
});

import DecimalJs from "decimal.js";
import { createPricer } from "./create-pricer";
import { toWire } from "./decimal";
import { d, tier } from "./testing/price-cases";
import type { Price } from "./types";

const api: Price = { model: { kind: "graduated", tiers: [tier("100", "0.10"), tier(null, "0.05")] } };

describe("createPricer", () => {
  it("copies the price: editing the input afterwards changes nothing", () => {
    const tiers = [tier("100", "0.10"), tier(null, "0.05")];
    const pricer = createPricer({ model: { kind: "graduated", tiers } });
    tiers[0]!.unitAmount = d("99");
    tiers.pop();
    expect(toWire(pricer.amount(d("150")))).toBe("12.5"); // 100 × 0.10 + 50 × 0.05
  });

  it("prices negative and NaN quantities as 0 instead of throwing", () => {
    const pricer = createPricer(api);
    for (const q of [d(-5), d(NaN), d(-Infinity)]) {
      expect(toWire(pricer.amount(q))).toBe("0");
      expect(toWire(pricer.total(q).amount)).toBe("0");
      expect(pricer.position(q).tierIndex).toBe(0);
      expect(pricer.crossings(q, d(0))).toEqual([]);
    }
  });

  it("stays exact with a Decimal from a low-precision decimal.js clone", () => {
    const Low = DecimalJs.clone({ precision: 5 });
    const pricer = createPricer({ model: { kind: "per_unit", unitAmount: new Low("0.123456789") } });
    // 123456.789 × 0.123456789 = 15241.578750190521
    expect(toWire(pricer.amount(new Low("123456.789")))).toBe("15241.578750190521");
  });

  it("does not throw on values outside the validated range", () => {
    const pricer = createPricer({ model: { kind: "package", packageSize: d(3), packageAmount: d(1) }, includedUnits: d(1) });
    for (const q of [d(Infinity), d("1e40"), d("1e-40"), "12" as unknown as DecimalJs, undefined as unknown as DecimalJs]) {
      expect(() => [pricer.total(q), pricer.position(q), pricer.crossings(d(0), q), pricer.increment(d(0), q)]).not.toThrow();
    }
  });
});

import { createDimensionalPricer } from "./dimensional-pricer";
import { toWire } from "./decimal";
import { PriceValidationError } from "./errors";
import { checkPricerContracts, d, tier } from "./testing/price-cases";
import type { DimensionalPrice } from "./types";

// Per LLM model: gpt-4 graduated per 1k tokens, llama per unit, anything else at the default.
const byModel: DimensionalPrice = {
  dimension: "model",
  prices: {
    "gpt-4": { model: { kind: "graduated", tiers: [tier("1000", "0.03"), tier(null, "0.02")] } },
    "meta-llama/Llama-3": { model: { kind: "per_unit", unitAmount: d("0.001") } },
  },
  defaultPrice: { model: { kind: "per_unit", unitAmount: d("0.01") } },
  minimum: d("10"),
};

describe("dimensional prices", () => {
  const pricer = createDimensionalPricer(byModel);

  it("prices each value with its own model and prefixes refs", () => {
    // gpt-4: 1000 × 0.03 + 500 × 0.02 = 40; llama: 2000 × 0.001 = 2; mistral (default): 100 × 0.01 = 1 → 43
    const result = pricer.total(new Map([["mistral", d("100")], ["gpt-4", d("1500")], ["meta-llama/Llama-3", d("2000")]]));
    expect(toWire(result.amount)).toBe("43");
    expect(result.lines.map((l) => [l.ref, toWire(l.subtotal)])).toEqual([
      ["model=gpt-4/tier:0", "30"],
      ["model=gpt-4/tier:1", "10"],
      ["model=meta-llama%2FLlama-3/per_unit", "2"],
      ["model=mistral/per_unit", "1"],
    ]);
    expect(result.lines[0]?.description).toBe("model=gpt-4: Tier 1 (up to 1000): 1000 × 0.03 = 30");
    expect(result.unpriced).toEqual([]);
    expect(toWire(pricer.amount(new Map([["gpt-4", d("1500")], ["mistral", d("100")], ["meta-llama/Llama-3", d("2000")]])))).toBe("43");
  });

  it("applies the dimensional minimum to the sum", () => {
    // 100 × 0.03 = 3 < 10 → topped up by 7
    const result = pricer.total(new Map([["gpt-4", d("100")]]));
    expect(toWire(result.amount)).toBe("10");
    expect(result.lines.map((l) => [l.ref, toWire(l.subtotal)])).toEqual([
      ["model=gpt-4/tier:0", "3"],
      ["minimum", "7"],
    ]);
  });

  it("gives per-value pricers for the real-time helpers", () => {
    const gpt = pricer.pricerFor("gpt-4");
    expect(toWire(gpt.increment(d("900"), d("1100")))).toBe("5"); // 100 × 0.03 + 100 × 0.02
    checkPricerContracts(gpt, d("2500"));
    expect(pricer.hasPriceFor("anything")).toBe(true);
  });

  it("without a default, prices unknown values at 0 and says so", () => {
    const noDefault = createDimensionalPricer({ dimension: "model", prices: { "gpt-4": byModel.prices["gpt-4"]! } });
    expect(noDefault.hasPriceFor("claude")).toBe(false);
    const result = noDefault.total(new Map([["claude", d("5")]]));
    expect(toWire(result.amount)).toBe("0");
    expect(result.unpriced).toEqual(["claude"]);
    expect(result.lines.map((l) => [l.ref, l.kind, toWire(l.quantity)])).toEqual([["model=claude/unpriced", "unpriced", "5"]]);
    expect(toWire(noDefault.pricerFor("claude").increment(d(0), d(5)))).toBe("0");
  });

  it("validates at creation", () => {
    expect(() => createDimensionalPricer({ dimension: "model", prices: {} })).toThrow(PriceValidationError);
  });
});

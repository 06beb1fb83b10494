import type DecimalJs from "decimal.js";
import { createPricer } from "./create-pricer";
import { PriceValidationError } from "./errors";
import { d, tier } from "./testing/price-cases";
import type { Price, Tier } from "./types";
import { validateDimensionalPrice, validatePrice } from "./validation";

const graduated = (tiers: Tier[]): Price => ({ model: { kind: "graduated", tiers } });
const codes = (price: Price) => validatePrice(price).map((i) => [i.path, i.code]);

describe("validatePrice", () => {
  it("accepts a well-formed tier table", () => {
    expect(validatePrice(graduated([tier("100", "0.1"), tier("1000", "0.08", "5"), tier(null, "0.05")]))).toEqual([]);
  });

  it.each<[string, Price, Array<[string, string]>]>([
    ["empty tier list", graduated([]), [["model.tiers", "empty_tiers"]]],
    ["no open-ended tier", graduated([tier("100", "0.1"), tier("200", "0.1")]), [["model.tiers[1].upTo", "missing_open_tier"]]],
    ["open tier in the middle", graduated([tier(null, "0.1"), tier("200", "0.1"), tier(null, "0")]), [["model.tiers[0].upTo", "open_tier_not_last"]]],
    ["duplicate bounds", graduated([tier("100", "0.1"), tier("100", "0.2"), tier(null, "0")]), [["model.tiers[1].upTo", "duplicate_bound"]]],
    ["unordered bounds", graduated([tier("200", "0.1"), tier("100", "0.2"), tier(null, "0")]), [["model.tiers[1].upTo", "unordered_bounds"]]],
    ["zero bound", graduated([tier("0", "0.1"), tier(null, "0")]), [["model.tiers[0].upTo", "non_positive_bound"]]],
    ["negative bound", graduated([tier("-5", "0.1"), tier(null, "0")]), [["model.tiers[0].upTo", "non_positive_bound"]]],
    ["negative unit amount", graduated([tier("10", "-0.1"), tier(null, "0")]), [["model.tiers[0].unitAmount", "negative_amount"]]],
    ["negative flat amount", graduated([tier("10", "0.1"), tier(null, "0", "-1")]), [["model.tiers[1].flatAmount", "negative_amount"]]],
    ["too many decimal places", graduated([tier("10", "0.0000000000001"), tier(null, "0")]), [["model.tiers[0].unitAmount", "too_many_decimal_places"]]],
    ["too many digits", graduated([tier("1" + "0".repeat(26), "0.1"), tier(null, "0")]), [["model.tiers[0].upTo", "too_many_digits"]]],
    ["zero package size", { model: { kind: "package", packageSize: d(0), packageAmount: d(1) } }, [["model.packageSize", "non_positive_package_size"]]],
    ["negative package size", { model: { kind: "package", packageSize: d(-1), packageAmount: d(1) } }, [["model.packageSize", "non_positive_package_size"]]],
    ["negative rate", { model: { kind: "percentage", rate: d(-1) } }, [["model.rate", "negative_amount"]]],
    ["negative included units", { model: { kind: "per_unit", unitAmount: d(1) }, includedUnits: d(-1) }, [["includedUnits", "negative_quantity"]]],
    ["minimum above maximum", { model: { kind: "flat_fee", amount: d(1) }, minimum: d(10), maximum: d(5) }, [["maximum", "minimum_exceeds_maximum"]]],
    ["NaN amount", { model: { kind: "per_unit", unitAmount: d(NaN) } }, [["model.unitAmount", "not_a_decimal"]]],
    ["a number instead of a Decimal", { model: { kind: "per_unit", unitAmount: 5 as unknown as DecimalJs } }, [["model.unitAmount", "not_a_decimal"]]],
    ["unknown model", { model: { kind: "tiered" } as unknown as Price["model"] }, [["model.kind", "unknown_model"]]],
  ])("rejects %s", (_name, price, expected) => {
    expect(codes(price)).toEqual(expected);
    expect(() => createPricer(price)).toThrow(PriceValidationError);
  });

  it("names the tier (1-based) and the problem in the message", () => {
    const [issue] = validatePrice(graduated([tier("200", "0.1"), tier("100", "0.2"), tier(null, "0")]));
    expect(issue?.message).toBe("Tier 2 (tiers[1]) has upTo 100, below Tier 1 (tiers[0])'s 200; tiers must be ordered by increasing upTo");
    const [missing] = validatePrice(graduated([tier("100", "0.1")]));
    expect(missing?.message).toContain("Tier 1 (tiers[0]) is the last tier but has upTo 100");
  });

  it("collects every issue, not just the first", () => {
    const price = graduated([tier("100", "-1"), tier("50", "0.1"), tier("70", "0.1", "0.0000000000001")]);
    expect(codes(price)).toEqual([
      ["model.tiers[0].unitAmount", "negative_amount"],
      ["model.tiers[1].upTo", "unordered_bounds"],
      ["model.tiers[2].upTo", "missing_open_tier"],
      ["model.tiers[2].upTo", "unordered_bounds"],
      ["model.tiers[2].flatAmount", "too_many_decimal_places"],
    ]);
    const error = catchValidation(() => createPricer(price));
    expect(error.name).toBe("PriceValidationError");
    expect(error.issues).toHaveLength(5);
  });

  it("survives garbage from the wire", () => {
    for (const junk of [null, undefined, 42, "x", {}, { model: null }, { model: { kind: "graduated", tiers: [null, 3] } }]) {
      expect(validatePrice(junk as unknown as Price).length).toBeGreaterThan(0);
    }
  });
});

describe("validateDimensionalPrice", () => {
  const gpt = { model: { kind: "per_unit", unitAmount: d("0.03") } } as const;

  it("accepts prices with or without a default", () => {
    expect(validateDimensionalPrice({ dimension: "model", prices: { "gpt-4": gpt } })).toEqual([]);
    expect(validateDimensionalPrice({ dimension: "model", prices: {}, defaultPrice: gpt })).toEqual([]);
  });

  it("locates issues inside a value's price", () => {
    const issues = validateDimensionalPrice({
      dimension: "",
      prices: { "gpt-4": graduated([]), "": gpt },
      defaultPrice: { model: { kind: "per_unit", unitAmount: d(-1) } },
      minimum: d(5),
      maximum: d(1),
    });
    expect(issues.map((i) => [i.path, i.code])).toEqual([
      ["dimension", "empty_dimension"],
      ['prices["gpt-4"].model.tiers', "empty_tiers"],
      ['prices[""]', "empty_dimension_value"],
      ["defaultPrice.model.unitAmount", "negative_amount"],
      ["maximum", "minimum_exceeds_maximum"],
    ]);
  });

  it("needs at least one price", () => {
    expect(validateDimensionalPrice({ dimension: "model", prices: {} }).map((i) => i.code)).toEqual(["no_prices"]);
  });
});

function catchValidation(fn: () => unknown): PriceValidationError {
  try {
    fn();
  } catch (error) {
    if (error instanceof PriceValidationError) return error;
    throw error;
  }
  throw new Error("expected PriceValidationError");
}

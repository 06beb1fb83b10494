import DecimalJs from "decimal.js";
import * as fc from "fast-check";
import { checkDecimal, Decimal, MAX_SCALE, parseDecimal, plainDecimalProblem, toMaxScale, toWire } from "./decimal";
import { DecimalFormatError } from "./errors";

describe("plainDecimalProblem", () => {
  const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom("0", "0", "1", "5", "9"), minLength: min, maxLength: max });
  const plain = fc
    .tuple(fc.boolean(), digits(1, 30), fc.option(digits(1, 16), { nil: undefined }))
    .map(([negative, int, frac]) => `${negative ? "-" : ""}${int}${frac === undefined ? "" : `.${frac}`}`);

  it("agrees with checkDecimal on every plain decimal, around every bound", () => {
    fc.assert(
      fc.property(plain, fc.boolean(), (value, nonNegative) => {
        const parsed = new Decimal(value);
        const expected = checkDecimal(parsed.isZero() ? new Decimal(0) : parsed, { nonNegative });
        expect(plainDecimalProblem(value, { nonNegative })).toBe(expected);
      }),
      { numRuns: 2_000 },
    );
  });

  it.each([
    ["99999999999999999999999999", null], // 26 integer digits: below 1e26
    ["100000000000000000000000000", "too_many_digits"],
    ["000000000000000000000000000001", null],
    ["0.000000000001", null],
    ["0.0000000000001", "too_many_decimal_places"],
    ["1.1000000000000000000", null],
    ["-0.000", null],
  ])("%s → %s", (value, problem) => {
    expect(plainDecimalProblem(value, { nonNegative: true })).toBe(problem);
  });
});

describe("parseDecimal", () => {
  it.each([
    ["0", "0"],
    ["-0", "0"],
    ["12", "12"],
    ["-3.5", "-3.5"],
    ["1.500", "1.5"],
    ["007", "7"],
    ["0.000000000001", "0.000000000001"],
    ["1000000000000", "1000000000000"],
    ["99999999999999999999999999.999999999999", "99999999999999999999999999.999999999999"],
  ])("accepts %j", (input, wire) => {
    expect(toWire(parseDecimal(input, "q"))).toBe(wire);
  });

  it.each([
    ["", "empty"],
    [" 1", "invalid_syntax"],
    ["1 ", "invalid_syntax"],
    ["NaN", "invalid_syntax"],
    ["Infinity", "invalid_syntax"],
    ["1e5", "invalid_syntax"],
    ["1E-3", "invalid_syntax"],
    ["+1", "invalid_syntax"],
    [".5", "invalid_syntax"],
    ["5.", "invalid_syntax"],
    ["1,000", "invalid_syntax"],
    ["0x10", "invalid_syntax"],
    ["0.0000000000001", "too_many_decimal_places"],
    ["100000000000000000000000000", "too_many_digits"],
  ])("rejects %j as %s", (input, code) => {
    const error = catchError(() => parseDecimal(input, "tiers[0].unitAmount"));
    expect(error).toBeInstanceOf(DecimalFormatError);
    expect(error).toMatchObject({ name: "DecimalFormatError", field: "tiers[0].unitAmount", code, value: input });
  });

  it("rejects negatives only when asked", () => {
    expect(toWire(parseDecimal("-1", "x"))).toBe("-1");
    expect(catchError(() => parseDecimal("-1", "x", { nonNegative: true }))).toMatchObject({ code: "negative" });
    expect(toWire(parseDecimal("-0", "x", { nonNegative: true }))).toBe("0");
  });

  it("counts scale on the value, so trailing zeros do not count", () => {
    expect(toWire(parseDecimal("1.5000000000000000000", "x"))).toBe("1.5");
    expect(MAX_SCALE).toBe(12);
  });
});

describe("toWire", () => {
  it.each([
    ["1e-9", "0.000000001"],
    ["1e12", "1000000000000"],
    ["1e30", "1000000000000000000000000000000"],
    ["-0", "0"],
    ["12.3400", "12.34"],
  ])("%s → %s", (input, wire) => {
    expect(toWire(new Decimal(input))).toBe(wire);
  });

  it("refuses non-finite values", () => {
    expect(() => toWire(new Decimal(NaN))).toThrow(DecimalFormatError);
  });
});

describe("Decimal", () => {
  it("multiplies the largest allowed values exactly (why precision is 100)", () => {
    const max = "99999999999999999999999999.999999999999";
    const product = new Decimal(max).times(new Decimal(max));
    const exact = BigInt(max.replace(".", "")) ** 2n; // scale 24
    expect(product.times(new Decimal(10).pow(24)).toFixed()).toBe(exact.toString());
  });

  it("is isolated from changes to the global decimal.js configuration", () => {
    const saved = DecimalJs.precision;
    DecimalJs.set({ precision: 5 });
    try {
      expect(toWire(new Decimal("1.0000001").times(3))).toBe("3.0000003");
    } finally {
      DecimalJs.set({ precision: saved });
    }
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

describe("toMaxScale", () => {
  it.each([
    ["1", "3", "0.333333333333"], // 1 ÷ 3 to 12 places
    ["2", "3", "0.666666666667"],
    ["0.0000000000005", "1", "0"], // half to even: 0.000000000000|5 → 0
    ["0.0000000000015", "1", "0.000000000002"], // 0.000000000001|5 → 2
    ["123.5", "1", "123.5"], // already within scale: unchanged
  ])("%s ÷ %s → %s", (a, b, expected) => {
    expect(toWire(toMaxScale(new Decimal(a).div(b)))).toBe(expected);
  });
});

import { Decimal, toWire } from "./decimal";
import { UnknownCurrencyError } from "./errors";
import { minorUnitDigits, roundAmount, roundToMinorUnit } from "./rounding";

describe("rounding contract", () => {
  it.each([
    ["JPY", 0],
    ["USD", 2],
    ["EUR", 2],
    ["GBP", 2],
    ["KWD", 3],
    ["BHD", 3],
    ["CLF", 4],
  ])("%s has %i minor-unit digits", (currency, digits) => {
    expect(minorUnitDigits(currency)).toBe(digits);
  });

  it.each([
    // ROUND_HALF_EVEN: ties go to the even digit
    ["2.345", "USD", "2.34"],
    ["2.355", "USD", "2.36"],
    ["2.3450000001", "USD", "2.35"],
    ["-2.345", "USD", "-2.34"],
    ["0.5", "JPY", "0"],
    ["1.5", "JPY", "2"],
    ["1.0005", "KWD", "1"],
    ["1.0015", "KWD", "1.002"],
    ["0.000000001", "EUR", "0"],
  ])("%s %s → %s", (amount, currency, rounded) => {
    expect(toWire(roundToMinorUnit(new Decimal(amount), currency))).toBe(rounded);
  });

  it("keeps the precise amount next to the rounded one", () => {
    const r = roundAmount(new Decimal("16.0485"), "USD");
    expect([toWire(r.precise), toWire(r.rounded), toWire(r.roundingDifference), r.roundingMode]).toEqual([
      "16.0485",
      "16.05",
      "0.0015",
      "ROUND_HALF_EVEN",
    ]);
  });

  it("rejects unknown currencies instead of guessing", () => {
    expect(() => minorUnitDigits("XYZ")).toThrow(UnknownCurrencyError);
    expect(() => minorUnitDigits("usd")).toThrow(UnknownCurrencyError);
  });
});

import DecimalJs from "decimal.js";
import { DecimalFormatError } from "./errors";

/**
 * Most decimal places an amount or quantity may carry. 12 matches the `NUMERIC(38,12)` columns
 * money and usage are stored in: anything finer would be silently rounded by Postgres, so we
 * refuse it at the edge instead (1e-12 still prices a token at a billionth of a cent).
 */
export const MAX_SCALE = 12;

/** Most significant digits of a stored value: the 38 of `NUMERIC(38,12)`. */
export const MAX_DIGITS = 38;

/** Most digits before the decimal point: 38 − 12 = 26, so any valid value is below 1e26. */
export const MAX_INTEGER_DIGITS = MAX_DIGITS - MAX_SCALE;

/**
 * THE Decimal every Tally service uses: a private decimal.js clone, so nobody's `Decimal.set()`
 * elsewhere can change our arithmetic.
 *
 * Why `precision: 100`: decimal.js rounds every result to `precision` significant digits, so we
 * need room for the largest exact result pricing can produce. Inputs are bounded by
 * `NUMERIC(38,12)` (< 1e26, ≤ 12 places). A product of two such values is < 1e52 with ≤ 24 places,
 * i.e. ≤ 76 significant digits, and a sum of n products needs ≤ 76 + log10(n) digits. 100 digits
 * keeps every sum of up to 1e24 such products exact — tier tables, dimensional totals and invoice
 * sums included — while add/multiply cost depends on the operands' digits, not on this setting.
 *
 * `rounding: ROUND_HALF_EVEN` only matters for the rare inexact operation (division by a
 * non-power of ten); it is the same named mode invoices round with, so there is one mode in the
 * system. `toExpNeg/toExpPos: ±100` make `toString()` (and therefore logs and JSON) plain
 * notation for every value our bounds can produce; the wire format is still {@link toWire}.
 */
export const Decimal = DecimalJs.clone({
  precision: 100,
  rounding: DecimalJs.ROUND_HALF_EVEN,
  toExpNeg: -100,
  toExpPos: 100,
});
export type Decimal = InstanceType<typeof Decimal>;

/** Rounding mode name used with {@link Decimal.ROUND_HALF_EVEN} (banker's rounding). */
export const ROUNDING_MODE = "ROUND_HALF_EVEN" as const;

export const ZERO: Decimal = new Decimal(0);
export const ONE: Decimal = new Decimal(1);

/** Why a value is not an acceptable amount or quantity, or null if it is. */
export type DecimalProblem =
  | "not_a_decimal"
  | "negative"
  | "too_many_decimal_places"
  | "too_many_digits";

const UPPER_LIMIT = new Decimal(10).pow(MAX_INTEGER_DIGITS);

/**
 * The bounds check shared by {@link parseDecimal} and price validation: finite, within
 * `NUMERIC(38,12)`, and (optionally) not negative. Accepts any decimal.js instance.
 */
export function checkDecimal(value: unknown, opts: { nonNegative?: boolean } = {}): DecimalProblem | null {
  if (!DecimalJs.isDecimal(value)) return "not_a_decimal";
  const d = value as Decimal;
  if (!d.isFinite()) return "not_a_decimal";
  if (opts.nonNegative && d.isNeg() && !d.isZero()) return "negative";
  if (d.decimalPlaces() > MAX_SCALE) return "too_many_decimal_places";
  if (d.abs().gte(UPPER_LIMIT)) return "too_many_digits";
  return null;
}

// Plain decimal notation only: optional minus, digits, optional fraction. No exponent, no "+",
// no whitespace, no ".5" or "5.", no thousands separators.
const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/;

/**
 * Strictly parses a decimal string from the wire, a config file or an API request.
 *
 * Accepted: plain decimal notation, e.g. "0", "12", "-3.5", "0.000000001", "1000000000000",
 * "1.500" (trailing zeros are fine: the scale is that of the value, 1.5). Leading zeros are
 * tolerated ("007" = 7). Rejected: "", whitespace, "NaN", "Infinity", "+1", ".5", "5.", "1,000"
 * and scientific notation ("1e5"): {@link toWire} never writes an exponent, an exponent hides how
 * many digits a value really has, and "1e999999999" is a cheap way to make a server allocate.
 * Also rejected: more than {@link MAX_SCALE} significant decimal places, more than 26 integer digits
 * (more than {@link MAX_DIGITS} in total), and negatives when `nonNegative` is set.
 *
 * @param field named in the error, e.g. "tiers[2].unitAmount"
 * @throws DecimalFormatError with `.field`, `.value` and a stable `.code`
 */
export function parseDecimal(value: string, field: string, opts: { nonNegative?: boolean } = {}): Decimal {
  if (typeof value !== "string" || value === "") {
    throw new DecimalFormatError(field, value, "empty", `${field}: expected a decimal string, got ${describe(value)}`);
  }
  if (!PLAIN_DECIMAL.test(value)) {
    throw new DecimalFormatError(
      field,
      value,
      "invalid_syntax",
      `${field}: ${describe(value)} is not a plain decimal number (expected e.g. "12.5"; no exponent, sign "+", spaces or separators)`,
    );
  }
  const problem = plainDecimalProblem(value, opts);
  if (problem === null) {
    const parsed = new Decimal(value);
    return parsed.isZero() ? ZERO : parsed; // "-0" is 0
  }
  switch (problem) {
    case "negative":
      throw new DecimalFormatError(field, value, "negative", `${field}: ${describe(value)} must not be negative`);
    case "too_many_decimal_places":
      throw new DecimalFormatError(
        field,
        value,
        "too_many_decimal_places",
        `${field}: ${describe(value)} has ${new Decimal(value).decimalPlaces()} decimal places, at most ${MAX_SCALE} are supported`,
      );
    case "too_many_digits":
      throw new DecimalFormatError(
        field,
        value,
        "too_many_digits",
        `${field}: ${describe(value)} has more than ${MAX_INTEGER_DIGITS} integer digits (NUMERIC(${MAX_DIGITS},${MAX_SCALE}))`,
      );
    case "not_a_decimal":
      // Unreachable for strings that match PLAIN_DECIMAL, kept so the switch stays exhaustive.
      throw new DecimalFormatError(field, value, "invalid_syntax", `${field}: ${describe(value)} is not a decimal`);
  }
}

/**
 * {@link checkDecimal} for a string in plain notation (it must match PLAIN_DECIMAL), read from
 * the digits themselves: parseDecimal runs for every metered value at ingest, and counting
 * digits costs a fraction of what the same checks on a decimal.js instance do (no `abs()` copy,
 * no `decimalPlaces()` walk). decimal.spec.ts checks that both agree on any plain decimal.
 */
export function plainDecimalProblem(value: string, opts: { nonNegative?: boolean } = {}): DecimalProblem | null {
  const negative = value.charCodeAt(0) === 45; // "-"
  const dot = value.indexOf(".");
  const intEnd = dot < 0 ? value.length : dot;
  let intStart = negative ? 1 : 0;
  while (intStart < intEnd && value.charCodeAt(intStart) === 48) intStart++; // leading "0"s
  let fracEnd = value.length;
  if (dot >= 0) while (fracEnd > dot + 1 && value.charCodeAt(fracEnd - 1) === 48) fracEnd--; // trailing "0"s
  const integerDigits = intEnd - intStart;
  const places = dot < 0 ? 0 : fracEnd - dot - 1;
  if (opts.nonNegative && negative && (integerDigits > 0 || places > 0)) return "negative";
  if (places > MAX_SCALE) return "too_many_decimal_places";
  if (integerDigits > MAX_INTEGER_DIGITS) return "too_many_digits";
  return null;
}

/**
 * Canonical wire form: plain notation, never an exponent, no trailing zeros, "0" for zero:
 * `toWire(new Decimal("1e-9")) === "0.000000001"`, `toWire(new Decimal("1e12")) === "1000000000000"`.
 * Round first if the receiver has a scale limit. NaN and ±Infinity have no wire form and throw.
 */
export function toWire(d: Decimal): string {
  if (!d.isFinite()) {
    throw new DecimalFormatError("value", String(d), "invalid_syntax", `${String(d)} cannot be written as a decimal string`);
  }
  return d.isZero() ? "0" : d.toFixed();
}

/**
 * Fits a derived value — a ratio, a prorated amount, a stored running total — into the scale every
 * quantity and amount has on the wire and in `NUMERIC(38,12)`: {@link MAX_SCALE} places,
 * {@link ROUNDING_MODE}. This is a precision clamp, not money rounding: an amount is rounded to
 * its currency's minor unit once, at the invoice (`roundToMinorUnit`).
 */
export function toMaxScale(d: Decimal): Decimal {
  return d.toDecimalPlaces(MAX_SCALE, Decimal.ROUND_HALF_EVEN);
}

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

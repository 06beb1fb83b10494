import DecimalJs from "decimal.js";
import { Decimal, ZERO } from "./decimal";

/**
 * Makes any run-time value a quantity pricing can use, without throwing: our Decimal passes
 * through untouched (the hot path: one identity check, two flag checks); a Decimal from another
 * decimal.js clone is copied into ours (its own precision could otherwise round our products);
 * anything else is parsed if decimal.js can, else 0. Negative and NaN quantities price as 0:
 * usage never goes below zero, and validated input (parseDecimal with nonNegative) never is.
 */
export function toQuantity(value: Decimal): Decimal {
  let d: Decimal;
  // Not `instanceof`: every decimal.js clone shares one prototype, but each instance records
  // its own constructor, whose precision its arithmetic uses.
  if (isOwnDecimal(value)) {
    d = value;
  } else if (DecimalJs.isDecimal(value)) {
    d = new Decimal(value);
  } else {
    try {
      d = new Decimal(value as unknown as DecimalJs.Value);
    } catch {
      return ZERO;
    }
  }
  return d.isNaN() || d.isNeg() ? ZERO : d;
}

/** Copies a validated price value into our Decimal, so later edits to the input cannot leak in. */
export function own(value: Decimal): Decimal {
  return new Decimal(value);
}

function isOwnDecimal(value: unknown): value is Decimal {
  return typeof value === "object" && value !== null && (value as { constructor?: unknown }).constructor === Decimal;
}

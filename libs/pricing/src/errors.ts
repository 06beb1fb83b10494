/**
 * One error class per failure, each with a stable `name`; test them with `instanceof`, never by
 * matching message text. Pricing itself never throws: these come from parsing, validation at plan
 * creation and currency lookup only.
 */

export type DecimalFormatCode =
  | "empty"
  | "invalid_syntax"
  | "negative"
  | "too_many_decimal_places"
  | "too_many_digits";

/** A decimal string was rejected by `parseDecimal` (or a non-finite value given to `toWire`). */
export class DecimalFormatError extends Error {
  override readonly name = "DecimalFormatError";
  constructor(
    /** The field the value was for, e.g. "tiers[2].unitAmount". */
    readonly field: string,
    /** The rejected input, as received. */
    readonly value: unknown,
    /** Stable snake_case reason. */
    readonly code: DecimalFormatCode,
    message: string,
  ) {
    super(message);
  }
}

/** Stable snake_case codes of price validation issues. */
export type PriceValidationCode =
  | "not_a_decimal"
  | "negative_amount"
  | "negative_quantity"
  | "too_many_decimal_places"
  | "too_many_digits"
  | "unknown_model"
  | "empty_tiers"
  | "missing_open_tier"
  | "open_tier_not_last"
  | "non_positive_bound"
  | "duplicate_bound"
  | "unordered_bounds"
  | "non_positive_package_size"
  | "minimum_exceeds_maximum"
  | "empty_dimension"
  | "empty_dimension_value"
  | "no_prices";

/** One problem with a price, located by a path from the price's root, e.g. "model.tiers[2].upTo". */
export interface PriceValidationIssue {
  path: string;
  code: PriceValidationCode;
  /** Names the tier (1-based, as on a pricing page), the value and the problem. */
  message: string;
}

/** A price failed validation; `issues` lists every problem found, not just the first. */
export class PriceValidationError extends Error {
  override readonly name = "PriceValidationError";
  constructor(readonly issues: PriceValidationIssue[]) {
    super(`Invalid price: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
  }
}

/** `minorUnitDigits`/`roundToMinorUnit` got a currency code we do not know. */
export class UnknownCurrencyError extends Error {
  override readonly name = "UnknownCurrencyError";
  constructor(readonly currency: string) {
    super(`Unknown currency ${JSON.stringify(currency)}: expected an ISO 4217 code such as "USD"`);
  }
}

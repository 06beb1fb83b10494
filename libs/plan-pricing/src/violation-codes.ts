import type { DecimalFormatCode } from "@tally/pricing";

/**
 * The FieldViolation.code of a rejected decimal string, the same in every service that reads
 * amounts and quantities (metering's codes: `invalid_decimal`, `negative`, …; an empty required
 * value is `required`). Once published, never renamed.
 */
export const DECIMAL_VIOLATION_CODES: Record<DecimalFormatCode, string> = {
  empty: "required",
  invalid_syntax: "invalid_decimal",
  negative: "negative",
  too_many_decimal_places: "too_many_decimal_places",
  too_many_digits: "too_many_digits",
};

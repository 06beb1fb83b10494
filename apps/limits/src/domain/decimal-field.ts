import { type Violations } from "@tally/platform";
import { DECIMAL_VIOLATION_CODES } from "@tally/plan-pricing";
import { DecimalFormatError, parseDecimal, type Decimal } from "@tally/pricing";

/**
 * Parses a decimal request field, recording a violation naming the field (and
 * the rejected value) instead of throwing, so validation reports every problem.
 */
export function decimalField(
  violations: Violations,
  value: string,
  field: string,
  opts: { nonNegative?: boolean; positive?: boolean; optional?: boolean } = {},
): Decimal | undefined {
  if (value === "" && opts.optional) return undefined;
  try {
    const d = parseDecimal(value, field, { nonNegative: opts.nonNegative || opts.positive });
    if (opts.positive && !d.gt(0)) {
      violations.add(field, `${JSON.stringify(value)} must be greater than 0`, "out_of_range");
      return undefined;
    }
    return d;
  } catch (err) {
    if (err instanceof DecimalFormatError) {
      violations.add(field, value === "" ? "is required" : err.message.replace(`${field}: `, ""), DECIMAL_VIOLATION_CODES[err.code]);
      return undefined;
    }
    throw err;
  }
}

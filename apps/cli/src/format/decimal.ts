import { Decimal } from "@tally/pricing";

/**
 * A decimal string for a table cell: at most `maxFractionDigits` decimals, marked "≈" when that
 * shortened it. A prorated fee's quantity is the exact share of the period (100 digits on the wire);
 * people read a few, scripts take `--json` for every digit. Anything that is not a decimal is shown as is.
 */
export function displayDecimal(value: string, maxFractionDigits = 6): string {
  let d: Decimal;
  try {
    d = new Decimal(value);
  } catch {
    return value;
  }
  if (d.decimalPlaces() <= maxFractionDigits) return value;
  return `≈${d.toDecimalPlaces(maxFractionDigits, Decimal.ROUND_HALF_EVEN).toFixed()}`;
}

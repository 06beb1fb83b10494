import { Decimal } from "@tally/pricing";

/** part ÷ whole of two decimal strings, as a number for drawing only (0 when whole is 0 or not a decimal). */
export function ratio(part: string, whole: string): number {
  try {
    const w = new Decimal(whole);
    return w.isZero() ? 0 : new Decimal(part).div(w).toNumber();
  } catch {
    return 0;
  }
}

/** The largest of some decimal strings ("0" for none). */
export function maxDecimal(values: string[]): string {
  return values.reduce((max, v) => (new Decimal(v).greaterThan(max) ? v : max), "0");
}

/** How far `value` has gone from `lower` to `upper` (decimal strings; "" lower means 0), for drawing. */
export function progressWithin(value: string, lower: string, upper: string): number {
  try {
    const from = new Decimal(lower || "0");
    const span = new Decimal(upper).minus(from);
    return span.lte(0) ? 0 : new Decimal(value).minus(from).div(span).toNumber();
  } catch {
    return 0;
  }
}

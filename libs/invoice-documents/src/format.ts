import { minorUnitDigits } from "@tally/pricing";

/**
 * Formatting of amounts, quantities and dates for invoice documents. Intl.NumberFormat is given
 * the decimal *string*, which it formats exactly (no float conversion), with the ISO 4217 minor
 * unit from @tally/pricing rather than CLDR's digits (they differ for e.g. IQD).
 */

const LOCALE = "en-US";
const MAX_PRECISE_DIGITS = 12;

// Intl.NumberFormat v3 takes decimal strings; TypeScript's ES2022 lib only declares number | bigint.
type DecimalFormat = (value: string) => string;
const formatter = (options: Intl.NumberFormatOptions): DecimalFormat => {
  const f = new Intl.NumberFormat(LOCALE, { roundingMode: "halfEven", ...options } as Intl.NumberFormatOptions);
  return f.format.bind(f) as unknown as DecimalFormat;
};

const cache = new Map<string, DecimalFormat>();
function cached(key: string, make: () => DecimalFormat): DecimalFormat {
  let f = cache.get(key);
  if (!f) cache.set(key, (f = make()));
  return f;
}

/**
 * The standard PDF fonts encode Latin-1 plus "€" only: a currency whose symbol falls outside
 * (₹, ₩, …) is shown by its code instead, in HTML as in PDF so that both read the same.
 */
function currencyDisplay(currency: string): "symbol" | "code" {
  const symbol = new Intl.NumberFormat(LOCALE, { style: "currency", currency }).formatToParts(0).find((p) => p.type === "currency")?.value ?? "";
  return [...symbol].every((c) => c === "€" || c.charCodeAt(0) <= 0xff) ? "symbol" : "code";
}

/** An amount in the currency's minor unit: 1234.5 USD → "$1,234.50", JPY → "¥1,235", KWD → "KWD 1,234.500". */
export function formatMoney(amount: string, currency: string): string {
  const digits = minorUnitDigits(currency);
  return cached(`m:${currency}`, () =>
    formatter({ style: "currency", currency, currencyDisplay: currencyDisplay(currency), minimumFractionDigits: digits, maximumFractionDigits: digits }),
  )(amount);
}

/** A precise amount (unit price, tier subtotal): at least the minor unit's digits, up to 12: "$0.0000025". */
export function formatPreciseMoney(amount: string, currency: string): string {
  const digits = minorUnitDigits(currency);
  return cached(`p:${currency}`, () =>
    formatter({ style: "currency", currency, currencyDisplay: currencyDisplay(currency), minimumFractionDigits: digits, maximumFractionDigits: MAX_PRECISE_DIGITS }),
  )(amount);
}

/** A quantity with grouping and every significant decimal: "1,250,000", "0.25". */
export function formatQuantity(quantity: string): string {
  return cached("q", () => formatter({ maximumFractionDigits: MAX_PRECISE_DIGITS }))(quantity);
}

/** A decimal fraction as a percentage: "0.5" → "50%", "0.3548387" → "35.48%". */
export function formatFraction(fraction: string): string {
  return cached("f", () => formatter({ style: "percent", maximumFractionDigits: 2 }))(fraction);
}

/** A percent figure: "20" → "20%". */
export function formatPercent(percent: string): string {
  return `${formatQuantity(percent)}%`;
}

/** A calendar date in the given zone: "May 1, 2025". */
export function formatDate(date: Date, timeZone = "UTC"): string {
  return new Intl.DateTimeFormat(LOCALE, { year: "numeric", month: "short", day: "numeric", timeZone }).format(date);
}

/**
 * A range whose end is exclusive, printed with its last day: May 1 00:00 → Jun 1 00:00 reads
 * "May 1, 2025 – May 31, 2025", as people read periods.
 */
export function formatDateRange(range: { start: Date; end: Date }, timeZone = "UTC"): string {
  const lastInstant = new Date(Math.max(range.start.getTime(), range.end.getTime() - 1));
  return `${formatDate(range.start, timeZone)} – ${formatDate(lastInstant, timeZone)}`;
}

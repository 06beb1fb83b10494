import { Decimal, ROUNDING_MODE } from "./decimal";
import { UnknownCurrencyError } from "./errors";

/**
 * The rounding contract (the same as the invoice contracts in proto/): pricing never rounds; every
 * amount it returns is precise. The invoice subtotal is the sum of precise lines, and the total is
 * that subtotal rounded ONCE to the currency's minor unit with ROUND_HALF_EVEN, keeping the precise
 * amount next to the rounded one (see {@link roundAmount}). Rounded line amounts, where shown, are
 * allocated from the total so they add up to it; they are never rounded independently and summed.
 */

/**
 * ISO 4217 minor-unit digits. Currencies not listed have 2 only if they are in TWO_DIGITS; any
 * other code is rejected rather than guessed, because guessing wrong mis-bills by 10× or 100×.
 */
const ZERO_DIGITS = ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"];
const THREE_DIGITS = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
const FOUR_DIGITS = ["CLF", "UYW"];
const TWO_DIGITS = [
  "AED", "ARS", "AUD", "BDT", "BGN", "BRL", "CAD", "CHF", "CNY", "COP", "CZK", "DKK", "DZD", "EGP", "EUR",
  "GBP", "GEL", "GHS", "HKD", "HUF", "IDR", "ILS", "INR", "KES", "KZT", "LKR", "MAD", "MXN", "MYR", "NGN",
  "NOK", "NZD", "PEN", "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SEK", "SGD", "THB", "TRY",
  "TWD", "UAH", "USD", "UYU", "UZS", "VES", "ZAR",
];

const MINOR_UNIT_DIGITS: ReadonlyMap<string, number> = new Map([
  ...ZERO_DIGITS.map((c) => [c, 0] as const),
  ...TWO_DIGITS.map((c) => [c, 2] as const),
  ...THREE_DIGITS.map((c) => [c, 3] as const),
  ...FOUR_DIGITS.map((c) => [c, 4] as const),
]);

/** Currencies `minorUnitDigits` knows, upper-case ISO 4217 codes. */
export const SUPPORTED_CURRENCIES: readonly string[] = [...MINOR_UNIT_DIGITS.keys()].sort();

export function isSupportedCurrency(currency: string): boolean {
  return MINOR_UNIT_DIGITS.has(currency);
}

/**
 * Digits after the decimal point of the currency's minor unit: JPY 0, USD/EUR 2, KWD 3.
 * Codes are upper-case ISO 4217; anything else throws UnknownCurrencyError (validate the
 * currency when the plan is created, with `isSupportedCurrency`).
 */
export function minorUnitDigits(currency: string): number {
  const digits = MINOR_UNIT_DIGITS.get(currency);
  if (digits === undefined) throw new UnknownCurrencyError(currency);
  return digits;
}

/** Rounds a precise amount to the currency's minor unit, ROUND_HALF_EVEN (2.345 USD → 2.34, 2.355 → 2.36). */
export function roundToMinorUnit(amount: Decimal, currency: string): Decimal {
  return new Decimal(amount).toDecimalPlaces(minorUnitDigits(currency), Decimal.ROUND_HALF_EVEN);
}

/** An invoice-ready amount: the rounded value to bill and the precise value it came from. */
export interface RoundedAmount {
  currency: string;
  precise: Decimal;
  rounded: Decimal;
  /** rounded − precise, for reconciliation reports. */
  roundingDifference: Decimal;
  roundingMode: typeof ROUNDING_MODE;
}

export function roundAmount(amount: Decimal, currency: string): RoundedAmount {
  const precise = new Decimal(amount);
  const rounded = roundToMinorUnit(precise, currency);
  return { currency, precise, rounded, roundingDifference: rounded.minus(precise), roundingMode: ROUNDING_MODE };
}

import { Decimal, toWire } from "@tally/pricing";

/**
 * Providers count money in integers of the currency's minor unit (Stripe: cents, but yen
 * as they are): https://docs.stripe.com/currencies#zero-decimal. Conversions are exact; an
 * amount with more decimals than the currency has is refused, never rounded here (invoicing
 * rounds once, at the total).
 */
const ZERO_DECIMAL = new Set(["BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"]);
const THREE_DECIMAL = new Set(["BHD", "JOD", "KWD", "OMR", "TND"]);

export function minorUnitDigits(currency: string): number {
  const code = currency.toUpperCase();
  return ZERO_DECIMAL.has(code) ? 0 : THREE_DECIMAL.has(code) ? 3 : 2;
}

/** "12.34" USD → 1234; undefined when the amount has more decimals than the currency. */
export function toMinorUnits(amount: string, currency: string): number | undefined {
  const minor = new Decimal(amount).times(new Decimal(10).pow(minorUnitDigits(currency)));
  return minor.isInteger() ? minor.toNumber() : undefined;
}

export function fromMinorUnits(minor: number, currency: string): string {
  return toWire(new Decimal(minor).div(new Decimal(10).pow(minorUnitDigits(currency))));
}

export const CURRENCY = /^[A-Z]{3}$/;

import { Decimal, minorUnitDigits as isoMinorUnitDigits, toWire } from "@tally/pricing";

/**
 * Providers count money in integers of the currency's minor unit (Stripe: cents, but yen
 * as they are): https://docs.stripe.com/currencies#zero-decimal. Conversions are exact; an
 * amount with more decimals than the currency has is refused, never rounded here (invoicing
 * rounds once, at the total).
 */
/** The ISO 4217 exponent invoicing rounded with (one table, @tally/pricing's); the provider writes codes in lower case. */
function minorUnitDigits(currency: string): number {
  return isoMinorUnitDigits(currency.toUpperCase());
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

import { Violations } from "@tally/platform";
import { DecimalFormatError, isSupportedCurrency, parseDecimal } from "@tally/pricing";
import type { TaxRate } from "./invoice-amounts";
import type { Address } from "./types";

export const DEFAULT_GRACE_MS = 60 * 60_000;
const MAX_GRACE_MS = 35 * 24 * 3600_000;
const PREFIX = /^[A-Z0-9-]{1,16}$/;

/** A profile as the caller sent it, before validation (durations already in ms, or undefined). */
export interface CustomerInput {
  customerId: string;
  legalName: string;
  email: string;
  billingAddress: Address;
  currency: string;
  graceMs: number | undefined;
  netTermsDays: number;
  taxRates: { name: string; percent: string }[];
  taxExempt: boolean;
  invoicePrefix: string;
}

export interface ValidCustomer extends Omit<CustomerInput, "graceMs" | "taxRates"> {
  graceMs: number;
  taxRates: TaxRate[];
}

/** Checks every field and throws INVALID_ARGUMENT listing all problems, each under `customer.<field>`. */
export function validateCustomer(c: CustomerInput): ValidCustomer {
  const v = new Violations();
  const at = (f: string) => `customer.${f}`;
  if (c.customerId.length < 1 || c.customerId.length > 255) v.add(at("customer_id"), "must be 1–255 characters");
  if (c.legalName.trim().length < 1 || c.legalName.length > 512) v.add(at("legal_name"), "must be 1–512 characters");
  if (!/^[^@\s]+@[^@\s]+$/.test(c.email)) v.add(at("email"), `must be an email address, got ${JSON.stringify(c.email)}`);
  if (!isSupportedCurrency(c.currency)) v.add(at("currency"), `must be a supported ISO 4217 code, got ${JSON.stringify(c.currency)}`, "invalid_currency");
  if (c.graceMs !== undefined && (c.graceMs < 0 || c.graceMs > MAX_GRACE_MS)) v.add(at("grace_period"), "must be between 0 and 35 days");
  if (!Number.isInteger(c.netTermsDays) || c.netTermsDays < 0 || c.netTermsDays > 365) v.add(at("net_terms_days"), `must be 0–365, got ${c.netTermsDays}`);
  if (c.invoicePrefix !== "" && !PREFIX.test(c.invoicePrefix)) v.add(at("invoice_prefix"), "must be 1–16 upper-case letters, digits or '-'");
  const country = c.billingAddress.country;
  if (country !== "" && !/^[A-Z]{2}$/.test(country)) v.add(at("billing_address.country"), `must be an ISO 3166-1 alpha-2 code, got ${JSON.stringify(country)}`);
  const taxRates: TaxRate[] = [];
  const names = new Set<string>();
  c.taxRates.forEach((r, i) => {
    const f = at(`tax_rates[${i}]`);
    if (r.name.trim().length < 1 || r.name.length > 64) v.add(`${f}.name`, "must be 1–64 characters");
    if (names.has(r.name)) v.add(`${f}.name`, `repeats ${JSON.stringify(r.name)}`);
    names.add(r.name);
    try {
      const percent = parseDecimal(r.percent, `${f}.percent`, { nonNegative: true });
      if (percent.gt(100)) v.add(`${f}.percent`, `must be at most 100, got ${r.percent}`);
      taxRates.push({ name: r.name, percent });
    } catch (err) {
      if (!(err instanceof DecimalFormatError)) throw err;
      v.add(`${f}.percent`, err.message.replace(`${f}.percent: `, ""), err.code);
    }
  });
  v.throwIfAny();
  return { ...c, graceMs: c.graceMs ?? DEFAULT_GRACE_MS, taxRates, invoicePrefix: c.invoicePrefix || "TLY" };
}

/** Same settable content (fields listed one by one: stored JSON may come back with keys reordered). */
export function sameProfile(a: ValidCustomer, b: ValidCustomer): boolean {
  const norm = (c: ValidCustomer) => {
    const ad = c.billingAddress;
    return JSON.stringify([
      c.customerId,
      c.legalName,
      c.email,
      [ad.line1, ad.line2, ad.city, ad.postalCode, ad.region, ad.country],
      c.currency,
      c.graceMs,
      c.netTermsDays,
      c.taxRates.map((r) => [r.name, r.percent.toFixed()]),
      c.taxExempt,
      c.invoicePrefix,
    ]);
  };
  return norm(a) === norm(b);
}


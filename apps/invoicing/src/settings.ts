import { int, loadConfig, oneOf, str, type Field } from "@tally/platform";

export interface Upstream {
  address: string;
  apiKey: string;
}

export interface InvoicingSettings {
  /** Rating (PreviewPeriods): required to close periods. */
  rating: Upstream | undefined;
  /** Limits (ListLedgerEntries): credits applied; none means no prepaid credits. */
  limits: Upstream | undefined;
  /** Metering (QueryUsage): raw usage for ReconcileInvoices. */
  metering: Upstream | undefined;
  /** How often the billing cycle runs (close ended periods, refresh stale drafts, finalize). */
  cycleIntervalMs: number;
  /** Subscriptions (or drafts) handled per transaction and per rating call. */
  batchSize: number;
  /** `manual`: the service clock moves only by AdvanceClock (demos, local development). */
  clock: "system" | "manual";
  /** Where a manual clock starts (ISO 8601); empty means the time of start. */
  clockStart: string;
  /** Who issues the invoices, as printed on their documents (GetInvoiceDocument). */
  issuer: Issuer;
}

export interface Issuer {
  name: string;
  /** Postal address, one entry per printed line. */
  address: string[];
  /** e.g. a VAT number, printed under the address; empty for none. */
  reference: string;
  email: string;
}

/** `<PREFIX>_ADDRESS` and `<PREFIX>_API_KEY` (a key with `read` scope): both or neither. */
function upstream(prefix: string): Field<Upstream | undefined> {
  return (env, problems) => {
    const address = env[`${prefix}_ADDRESS`]?.trim() ?? "";
    const apiKey = env[`${prefix}_API_KEY`]?.trim() ?? "";
    if (address === "" && apiKey === "") return undefined;
    if (address === "") problems.push(`${prefix}_ADDRESS is required when ${prefix}_API_KEY is set`);
    if (apiKey === "") problems.push(`${prefix}_API_KEY is required when ${prefix}_ADDRESS is set`);
    return { address, apiKey };
  };
}

/** INVOICING_ISSUER_NAME (Tally), _ADDRESS (lines separated by "|"), _REFERENCE, _EMAIL. */
const issuer: Field<Issuer> = (env, problems) => ({
  name: str("INVOICING_ISSUER_NAME", "Tally")(env, problems),
  address: str("INVOICING_ISSUER_ADDRESS", "")(env, problems)
    .split("|")
    .map((line) => line.trim())
    .filter(Boolean),
  reference: str("INVOICING_ISSUER_REFERENCE", "")(env, problems),
  email: str("INVOICING_ISSUER_EMAIL", "")(env, problems),
});

function isoTime(name: string): Field<string> {
  return (env, problems) => {
    const value = str(name, "")(env, problems);
    if (value !== "" && Number.isNaN(Date.parse(value))) problems.push(`${name} must be an ISO 8601 time, got "${value}"`);
    return value;
  };
}

/**
 * INVOICING_RATING_ADDRESS + _API_KEY, INVOICING_LIMITS_ADDRESS + _API_KEY,
 * INVOICING_METERING_ADDRESS + _API_KEY (unset),
 * INVOICING_CYCLE_INTERVAL_MS (5000), INVOICING_BATCH_SIZE (200), INVOICING_CLOCK (system),
 * INVOICING_CLOCK_START (now), INVOICING_ISSUER_NAME (Tally) / _ADDRESS / _REFERENCE / _EMAIL.
 */
export function loadInvoicingSettings(env: Record<string, string | undefined> = process.env): InvoicingSettings {
  return loadConfig(
    {
      rating: upstream("INVOICING_RATING"),
      limits: upstream("INVOICING_LIMITS"),
      metering: upstream("INVOICING_METERING"),
      cycleIntervalMs: int("INVOICING_CYCLE_INTERVAL_MS", 5000, { min: 10, max: 3_600_000 }),
      batchSize: int("INVOICING_BATCH_SIZE", 200, { min: 1, max: 1000 }),
      clock: oneOf("INVOICING_CLOCK", ["system", "manual"] as const, "system"),
      clockStart: isoTime("INVOICING_CLOCK_START"),
      issuer,
    },
    env,
  );
}

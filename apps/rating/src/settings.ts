import { int, loadConfig, type Field } from "@tally/platform";

/**
 * Rating's own settings, on top of the platform's ServiceConfig, validated at start (main.ts,
 * through loadServiceConfigWithSettings): a bad value stops the service naming the variable.
 */
export interface RatingSettings {
  /**
   * RATING_LATE_GRACE_MINUTES (35 days): a period closes this long after its end; later events
   * are kept unrated (PERIOD_CLOSED). Late usage is rated into its (closed) period for as long as
   * metering accepts it: metering takes events up to METERING_BACKFILL_DAYS (default 35) old by
   * event time, and a period ends after the events in it, so a 35-day window from the period's
   * end covers every one of them. Invoicing bills what is rated after an invoice was issued as a
   * late adjustment on the next invoice, so no accepted event is left unbilled. A shorter window
   * is an explicit write-off policy (reconciliation lists it as written off).
   */
  lateGraceMinutes: number;
  /** RATING_ADVANCE_INTERVAL_MS (5,000): how often to announce period starts / scheduled changes on subscription.changed. */
  advanceIntervalMs: number;
  /** RATING_MAX_BATCH (64): most UsageRecorded messages rated in one transaction. */
  maxBatch: number;
  /**
   * RATING_WORKERS (1): rating workers per instance, each a puller on the shared durable consumer
   * (as another instance would be). 1 by default: batches of one customer base touch the same
   * rows, so a second worker mostly waits for the first one's locks (measured: no gain on 2 cores).
   */
  workers: number;
  /**
   * RATING_PROJECTION_REFRESH_MS (60,000): how often every live subscription's stored projection
   * (billing_projection, what ForecastRevenue sums) is checked and the stale ones projected again
   * in the background; usage a customer had rated is checked within a second anyway.
   */
  projectionRefreshMs: number;
  /**
   * RATING_FORECAST_INLINE_MAX (100): most billings one ForecastRevenue call projects itself —
   * those with no stored projection from their current inputs (new usage, a plan change, a cancel,
   * none stored yet). Beyond it the call answers without them and says how many it left out
   * (billings_not_projected); the refresher projects them. About 5–10 ms a billing on a loaded
   * 2-core machine (200 added ~1.9 s to a 10,000-subscription call at load 10), so the default
   * keeps that part of a call near a second. A row that is merely from an earlier
   * day is never projected on request (it is summed as of its as_of).
   */
  forecastInlineMax: number;
  /**
   * RATING_METERING_ADDRESS + RATING_METERING_API_KEY (both or neither): where to copy meter
   * definitions from at start, and to ask about a meter a new plan names that rating has not heard
   * of yet (metering's address and an API key with its `read` scope); none: rating knows only the
   * meters whose events it has consumed.
   */
  metering: MeteringSource | undefined;
}

export interface MeteringSource {
  address: string;
  apiKey: string;
  /** Wait between attempts while metering cannot be reached (default 5 s). */
  retryMs?: number;
}

const DEFAULT_LATE_GRACE_MINUTES = 60 * 24 * 35;

export function loadRatingSettings(env: Record<string, string | undefined> = process.env): RatingSettings {
  return loadConfig(
    {
      lateGraceMinutes: int("RATING_LATE_GRACE_MINUTES", DEFAULT_LATE_GRACE_MINUTES, { min: 0, max: DEFAULT_LATE_GRACE_MINUTES }),
      advanceIntervalMs: int("RATING_ADVANCE_INTERVAL_MS", 5000, { min: 10, max: 3_600_000 }),
      maxBatch: int("RATING_MAX_BATCH", 64, { min: 1, max: 10_000 }),
      workers: int("RATING_WORKERS", 1, { min: 1, max: 16 }),
      projectionRefreshMs: int("RATING_PROJECTION_REFRESH_MS", 60_000, { min: 100, max: 3_600_000 }),
      forecastInlineMax: int("RATING_FORECAST_INLINE_MAX", 100, { min: 0, max: 1_000_000 }),
      metering: meteringSource(),
    },
    env,
  );
}

/** RATING_METERING_ADDRESS and RATING_METERING_API_KEY: both or neither. */
function meteringSource(): Field<MeteringSource | undefined> {
  return (env, problems) => {
    const address = env.RATING_METERING_ADDRESS?.trim() ?? "";
    const apiKey = env.RATING_METERING_API_KEY?.trim() ?? "";
    if (address === "" && apiKey === "") return undefined;
    if (address === "") problems.push("RATING_METERING_ADDRESS is required when RATING_METERING_API_KEY is set");
    if (apiKey === "") problems.push("RATING_METERING_API_KEY is required when RATING_METERING_ADDRESS is set");
    return { address, apiKey };
  };
}

import { int, loadConfig } from "@tally/platform";
import { DAY_MS, BOUNDS } from "./domain/bounds";

/**
 * Metering's own settings, on top of the platform's ServiceConfig. Validated at start like
 * every variable: a bad value stops the service with a message naming it.
 */
export interface MeteringSettings {
  /** METERING_BACKFILL_DAYS: oldest event time accepted, in days before now (default 35). */
  backfillDays: number;
  /** METERING_MAX_EVENTS_PER_TRANSACTION: group commit size (default 10,000). */
  maxEventsPerTransaction: number;
  /** METERING_CONCURRENT_TRANSACTIONS: group commits running at once (default 2). */
  concurrentTransactions: number;
  /** METERING_ROLLUP_FOLD_MS: how often pending rollups are folded into usage_rollup (default 5,000; see RollupFolder). */
  rollupFoldMs: number;
  /** METERING_DIRECT_ROLLUP_ROWS: a transaction with this many rollup rows upserts them itself instead of leaving them to the fold (default 5,000). */
  directRollupRows: number;
}

export function loadMeteringSettings(env: Record<string, string | undefined> = process.env): MeteringSettings {
  return loadConfig(
    {
      backfillDays: int("METERING_BACKFILL_DAYS", BOUNDS.defaultBackfillDays, { min: 1, max: BOUNDS.maxBackfillDays }),
      maxEventsPerTransaction: int("METERING_MAX_EVENTS_PER_TRANSACTION", 10_000, { min: 1, max: 50_000 }),
      concurrentTransactions: int("METERING_CONCURRENT_TRANSACTIONS", 2, { min: 1, max: 16 }),
      rollupFoldMs: int("METERING_ROLLUP_FOLD_MS", 5_000, { min: 10, max: 600_000 }),
      directRollupRows: int("METERING_DIRECT_ROLLUP_ROWS", 5_000, { min: 1, max: 10_000_000 }),
    },
    env,
  );
}

export function backfillMs(settings: MeteringSettings): number {
  return settings.backfillDays * DAY_MS;
}

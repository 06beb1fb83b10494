import type { Logger, Pool } from "@tally/platform";
import { anyPendingRollups, insertUniqueValues, takePendingRollups, upsertRollups } from "../adapter/rollup-store";
import { RollupMerger, type RollupDelta, type UniqueValue } from "../domain/rollup";

/** Folds run one at a time across every instance (a fold and a waiting query need no more). */
const FOLD_LOCK = `hashtext('tally.metering.rollup_fold')`;

export interface RollupFolderOptions {
  pool: Pool;
  logger: Logger;
  /**
   * How often pending rollups are folded in the background (default 5 s). A fold writes each
   * rollup row touched since the last one once, so the longer the interval the fewer writes per
   * event — as long as the same rows get events again within it (1,000 customers × 2 meters
   * are 2,000 rows a minute: at 5,000 events/s a 1 s fold still writes one row per 2.5
   * events). QueryUsage folds first, so the interval never delays an answer's content.
   */
  intervalMs?: number;
  /**
   * Most rollup deltas held in memory (beyond it the oldest rows' are dropped and read back
   * from Postgres when folded): bounds memory while folds fail, e.g. while the database is down.
   */
  maxHeldDeltas?: number;
}

interface Held {
  rollups: readonly RollupDelta[];
  uniqueValues: readonly UniqueValue[];
}

/**
 * Adds the rollups that ingest transactions left pending (migration 003) to usage_rollup and
 * usage_unique_values: every `intervalMs` in the background (and on the way out), and before every QueryUsage
 * ({@link foldNow}), so a query sees every event acknowledged before it was asked.
 *
 * A fold takes every committed pending row and adds it in one transaction: DELETE … RETURNING
 * the rows, merge their deltas in memory (one delta per rollup row), upsert, COMMIT. A row is
 * thus added exactly once — by the fold whose transaction deleted it — and a crash anywhere
 * leaves it pending for the next fold of any instance. The deltas this instance committed are
 * held in memory ({@link committed}), so Postgres only sends back those of other instances or of
 * a previous process.
 */
export class RollupFolder {
  private readonly held = new Map<string, Held>();
  private heldDeltas = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The fold running now, and the one queued behind it (callers who came during the first). */
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(private readonly options: RollupFolderOptions) {}

  /** Starts the background folds; the first one picks up what a previous process left. */
  start(): void {
    const interval = this.options.intervalMs ?? 5_000;
    const tick = () => {
      this.fold({ wait: false }).catch((err: unknown) => this.options.logger.warn("rollup fold failed; its rows stay pending", { err }));
    };
    this.timer = setInterval(tick, interval);
    this.timer.unref();
    tick();
  }

  /** Stops the background folds and folds what is pending one last time. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.foldNow().catch((err: unknown) => this.options.logger.warn("last rollup fold failed; its rows stay pending", { err }));
  }

  /** An ingest transaction that stored pending row `id` with this content has committed. */
  committed(id: string, rollups: readonly RollupDelta[], uniqueValues: readonly UniqueValue[]): void {
    this.held.set(id, { rollups, uniqueValues });
    this.heldDeltas += rollups.length + uniqueValues.length;
    const max = this.options.maxHeldDeltas ?? 1_000_000;
    // Map order is insertion order: the oldest go first (their rows are read back when folded).
    for (const key of this.held.keys()) {
      if (this.heldDeltas <= max) break;
      this.forget(key);
    }
  }

  private forget(id: string): void {
    const held = this.held.get(id);
    if (!held) return;
    this.heldDeltas -= held.rollups.length + held.uniqueValues.length;
    this.held.delete(id);
  }

  /**
   * Resolves once a fold that started after this call has committed: every pending row
   * committed before the call is then in the rollups.
   */
  foldNow(): Promise<void> {
    return this.fold({ wait: true });
  }

  /**
   * {@link foldNow} if anything is pending (QueryUsage): one read when nothing is. A row being
   * folded by another instance is still visible until that fold commits, its rollups with it,
   * so "nothing pending" means every committed delta is in the rollups.
   */
  async foldPending(): Promise<void> {
    if (this.held.size === 0 && !(await anyPendingRollups(this.options.pool))) return;
    await this.foldNow();
  }

  private fold({ wait }: { wait: boolean }): Promise<void> {
    if (!this.running) return this.begin(wait);
    // One is running but may have started before our caller's events committed: queue one
    // after it, shared by everyone who arrives meanwhile. A background tick need not wait.
    if (!wait) return Promise.resolve();
    this.queued ??= this.running.then(
      () => undefined,
      () => undefined,
    ).then(() => {
      this.queued = undefined;
      return this.begin(true);
    });
    return this.queued;
  }

  private begin(wait: boolean): Promise<void> {
    const run = this.foldOnce(wait).finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  /** One fold transaction; `wait`: wait for another instance's fold instead of skipping. */
  private async foldOnce(wait: boolean): Promise<void> {
    const client = await this.options.pool.connect();
    let broken = false;
    try {
      await client.query("BEGIN");
      if (wait) await client.query(`SELECT pg_advisory_xact_lock(${FOLD_LOCK})`);
      else {
        const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_xact_lock(${FOLD_LOCK}) AS locked`);
        if (!rows[0]!.locked) {
          await client.query("ROLLBACK");
          return;
        }
      }
      // Every row held now committed before the DELETE below starts: it takes them, or a fold
      // that committed before ours took them (folds hold FOLD_LOCK). Either way, once we commit
      // none of them is pending any more.
      const known = new Map(this.held);
      const taken = await takePendingRollups(client, [...known.keys()]);
      if (taken.length === 0) {
        await client.query("COMMIT");
        for (const id of known.keys()) this.forget(id);
        return;
      }
      const merger = new RollupMerger();
      for (const row of taken) {
        const content = row.rollups && row.uniqueValues ? { rollups: row.rollups, uniqueValues: row.uniqueValues } : known.get(row.id);
        // A row sent back without content is one we hold: it cannot be missing.
        if (!content) throw new Error(`pending rollups ${row.id} neither read nor held`);
        merger.addRollups(content.rollups);
        merger.addUniqueValues(content.uniqueValues);
      }
      // Unique values, then rollups: the order every writer of these tables takes its locks in.
      await insertUniqueValues(client, merger.uniqueValues());
      await upsertRollups(client, merger.rollups());
      await client.query("COMMIT");
      for (const id of known.keys()) this.forget(id);
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {
        broken = true;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }
}

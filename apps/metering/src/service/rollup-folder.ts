import type { Logger, Pool } from "@tally/platform";
import { anyPendingRollups, insertUniqueValues, pendingRollupIds, takePendingRollups, upsertRollups } from "../adapter/rollup-store";
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
   * Fold at once, whatever the interval, when this many rollup rows are held (default 5,000):
   * events spread over many minutes or customers (an import, a backfill) would otherwise leave
   * the first QueryUsage after them a large fold to wait for (10,000 events over a month: 0.7–1.1 s).
   */
  foldAtRows?: number;
  /**
   * Most rollup rows held in memory (beyond it what is held is dropped, and read back from
   * Postgres when folded): bounds memory while folds fail, e.g. while the database is down.
   */
  maxHeldRows?: number;
}

/**
 * The pending rows this instance committed since its last fold, summed as they come: memory
 * and garbage grow with the rollup rows touched, not with the transactions (at 50,000 events/s
 * a 5 s fold would otherwise hold 250,000 deltas).
 */
class Held {
  readonly ids: string[] = [];
  readonly merger = new RollupMerger();

  add(id: string, rollups: readonly RollupDelta[], uniqueValues: readonly UniqueValue[]): void {
    this.ids.push(id);
    this.merger.addRollups(rollups);
    this.merger.addUniqueValues(uniqueValues);
  }

  /** Takes `other`'s rows back (a fold that took them failed). */
  absorb(other: Held): void {
    this.ids.push(...other.ids);
    this.merger.addMerged(other.merger);
  }
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
 * held in memory, already summed ({@link committed}), so Postgres only sends back those of other
 * instances or of a previous process.
 */
export class RollupFolder {
  private held = new Held();
  private timer: NodeJS.Timeout | undefined;
  /** The fold running now, and the one queued behind it (callers who came during the first). */
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(private readonly options: RollupFolderOptions) {}

  /** Starts the background folds; the first one picks up what a previous process left. */
  start(): void {
    const interval = this.options.intervalMs ?? 5_000;
    this.timer = setInterval(() => this.foldInBackground(), interval);
    this.timer.unref();
    this.foldInBackground();
  }

  /** A fold unless one is running here or in another instance; a failure is logged, the rows stay pending. */
  private foldInBackground(): void {
    this.fold({ wait: false }).catch((err: unknown) => this.options.logger.warn("rollup fold failed; its rows stay pending", { err }));
  }

  /** Stops the background folds and folds what is pending one last time. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.foldNow().catch((err: unknown) => this.options.logger.warn("last rollup fold failed; its rows stay pending", { err }));
  }

  /** An ingest transaction that stored pending row `id` with this content has committed. */
  committed(id: string, rollups: readonly RollupDelta[], uniqueValues: readonly UniqueValue[]): void {
    this.held.add(id, rollups, uniqueValues);
    if (this.held.merger.size >= (this.options.foldAtRows ?? 5_000)) this.foldInBackground();
    // Forgotten rows are read back from Postgres by the next fold.
    if (this.held.merger.size > (this.options.maxHeldRows ?? 200_000)) this.held = new Held();
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
    if (this.held.ids.length === 0 && !(await anyPendingRollups(this.options.pool))) return;
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
      // Every row held now committed before the statements below start. Folds hold FOLD_LOCK,
      // so until we commit the pending rows can only grow: if every row we hold is still
      // pending, their sum is ours to add; if another instance folded some of them meanwhile,
      // our sum is not, and every row is read back instead.
      const known = this.held;
      this.held = new Held();
      try {
        const pending = new Set(await pendingRollupIds(client));
        const useHeld = known.ids.every((id) => pending.has(id));
        const taken = await takePendingRollups(client, useHeld ? known.ids : []);
        // A fresh sum: should this fold fail, `known` goes back to being held unchanged.
        const merger = new RollupMerger();
        if (useHeld) merger.addMerged(known.merger);
        for (const row of taken) {
          if (!row.rollups || !row.uniqueValues) continue; // held: already in known.merger
          merger.addRollups(row.rollups);
          merger.addUniqueValues(row.uniqueValues);
        }
        // Unique values, then rollups: the order every writer of these tables takes its locks in.
        if (taken.length > 0) {
          await insertUniqueValues(client, merger.uniqueValues());
          await upsertRollups(client, merger.rollups());
        }
        await client.query("COMMIT");
      } catch (err) {
        // Nothing was folded: what we held is still pending.
        known.absorb(this.held);
        this.held = known;
        throw err;
      }
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

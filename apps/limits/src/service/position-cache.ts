import type { Clock } from "@tally/platform";
import type { CheckContext } from "../adapter/check-store";

/**
 * Versions of what a Check reads, bumped by every write this process makes
 * through one pool (holds, releases, commits, limits, credits, rating's
 * events), so that a cached position read before a local write is never
 * served after it (read-your-writes within one instance). Shared by every
 * service object built on the same pool (see `positionVersions`).
 */
export class PositionVersions {
  private all = 0;
  private readonly byCustomer = new Map<string, number>();

  /** After a committed change of `customerId`'s position, or of everyone's (no argument: limits, plans). */
  changed(customerId?: string): void {
    if (customerId === undefined || this.byCustomer.size > 100_000) {
      this.all++;
      this.byCustomer.clear();
      if (customerId === undefined) return;
    }
    this.byCustomer.set(customerId, (this.byCustomer.get(customerId) ?? 0) + 1);
  }

  version(customerId: string): string {
    return `${this.all}:${this.byCustomer.get(customerId) ?? 0}`;
  }
}

const versionsByPool = new WeakMap<object, PositionVersions>();

/** The versions shared by everything in this process that writes through `pool`. */
export function positionVersions(pool: object): PositionVersions {
  let v = versionsByPool.get(pool);
  if (!v) versionsByPool.set(pool, (v = new PositionVersions()));
  return v;
}

export interface PositionKey {
  customerId: string;
  meterKey: string;
}

export interface PositionCacheOptions {
  /** A position read longer ago than this (by the clock, from when its read was sent) is never served. */
  maxAgeMs: number;
  /** `refresh()` re-reads positions served since their read once they are this old. */
  refreshAfterMs: number;
  /** Positions per refresh statement. */
  refreshBatch: number;
}

export const DEFAULT_POSITION_CACHE: PositionCacheOptions = { maxAgeMs: 100, refreshAfterMs: 50, refreshBatch: 500 };

interface Entry {
  context: CheckContext;
  /** Clock time (ms) when the read that produced it was sent: its snapshot is no older. */
  readAt: number;
  version: string;
  /** Times served since this read (a miss counts as one). */
  hits: number;
}

interface Loading {
  promise: Promise<CheckContext>;
  version: string;
}

/**
 * The position of plain (advisory) Checks, per (customer, meter), served
 * from memory while younger than `maxAgeMs` and not invalidated by a local
 * write. A miss waits for a read; concurrent misses of one key share it, and
 * `read` batches misses of different keys. `refresh()` (run on a timer)
 * re-reads positions in use before they age out, in one statement per
 * `refreshBatch`, so a busy Check path does not wait on Postgres at all.
 *
 * Never used for a reserving Check: zero overshoot is decided under the row
 * lock on a fresh read.
 */
export class PositionCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Loading>();
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly versions: PositionVersions,
    /** Reads positions; `previous[i]` is the context cached for `keys[i]`, which a read may return again if unchanged. */
    private readonly read: (keys: PositionKey[], previous: (CheckContext | undefined)[]) => Promise<CheckContext[]>,
    readonly options: PositionCacheOptions = DEFAULT_POSITION_CACHE,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  async get(customerId: string, meterKey: string): Promise<CheckContext> {
    const k = keyOf(customerId, meterKey);
    const now = this.clock.now().getTime();
    const version = this.versions.version(customerId);
    const e = this.entries.get(k);
    if (e && e.version === version && this.fresh(e.readAt, now)) {
      e.hits++;
      return e.context;
    }
    const pending = this.loading.get(k);
    if (pending && pending.version === version) return pending.promise;
    return this.load([{ customerId, meterKey }], now)[0]!;
  }

  /**
   * Re-reads every position that was served since its read and is at least
   * `refreshAfterMs` old, and drops the ones too old to serve that nobody
   * asked for. A position is thus read about once per use, at most once per
   * `refreshAfterMs` however busy: never more reads than without the cache.
   * One refresh at a time.
   */
  refresh(): Promise<void> {
    return (this.refreshing ??= this.refreshNow().finally(() => (this.refreshing = undefined)));
  }

  private async refreshNow(): Promise<void> {
    const now = this.clock.now().getTime();
    const due: PositionKey[] = [];
    for (const [k, e] of this.entries) {
      const age = now - e.readAt;
      if (age < 0 || (e.hits === 0 && age >= this.options.maxAgeMs)) this.entries.delete(k);
      else if (e.hits > 0 && age >= this.options.refreshAfterMs && !this.loading.has(k)) due.push(splitKey(k));
    }
    for (let i = 0; i < due.length; i += this.options.refreshBatch) {
      await Promise.allSettled(this.load(due.slice(i, i + this.options.refreshBatch), now, true));
    }
  }

  private fresh(readAt: number, now: number): boolean {
    return now >= readAt && now - readAt < this.options.maxAgeMs;
  }

  private load(keys: PositionKey[], readAt: number, refreshing = false): Promise<CheckContext>[] {
    const versions = keys.map((k) => this.versions.version(k.customerId));
    // A refreshed entry counts only the hits its predecessor got after the refresh was sent.
    const previous = keys.map((k) => this.entries.get(keyOf(k.customerId, k.meterKey)));
    const hitsAtSend = previous.map((e) => e?.hits ?? 0);
    const all = this.read(keys, previous.map((e) => e?.context));
    return keys.map((key, i) => {
      const k = keyOf(key.customerId, key.meterKey);
      const version = versions[i]!;
      const promise = all.then((contexts) => {
        const context = contexts[i]!;
        // Installed only if nothing was written locally since the read was sent.
        if (this.versions.version(key.customerId) === version) {
          const before = this.entries.get(k);
          const hits = !refreshing ? 1 : before && before === previous[i] ? before.hits - hitsAtSend[i]! : 0;
          this.entries.set(k, { context, readAt, version, hits });
        }
        return context;
      });
      const loading = { promise, version };
      this.loading.set(k, loading);
      const done = () => {
        if (this.loading.get(k) === loading) this.loading.delete(k);
      };
      promise.then(done, done);
      return promise;
    });
  }
}

const keyOf = (customerId: string, meterKey: string) => `${customerId}\u0000${meterKey}`;

function splitKey(k: string): PositionKey {
  const i = k.indexOf("\u0000");
  return { customerId: k.slice(0, i), meterKey: k.slice(i + 1) };
}

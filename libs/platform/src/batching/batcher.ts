import { Code, TallyError } from "../errors/errors";

/**
 * The one batcher: concurrent callers' items are handled together in one `flush` (typically one
 * transaction), so N callers pay one round trip and one fsync instead of N. Metering's group
 * commit is one; any "coalesce concurrent callers" path should be another (see ../../README.md).
 *
 * A submission (e.g. one Record's event, or one RecordBatch's events) waits in a queue. When no flush
 * is running, a flush starts at once with everything queued (up to `maxItems`), so a lone caller
 * waits for nothing but its own transaction. While one runs, the queue fills; a second, overlapping
 * flush starts only when `overlapMinItems` are waiting or the oldest has waited `lingerMs` —
 * otherwise the queue goes with the next flush when the current one finishes. So batches grow
 * with load instead of splintering into tiny transactions. Each caller gets the results of its
 * own items, in order. A failed flush fails
 * exactly the submissions it carried (their ids were not written, so a retry can take them)
 * and nothing else; a shared flush that fails is retried once per submission, so that one
 * caller's problem does not fail the others — or, with `splitOnFailure`, in halves.
 *
 * Optional load shedding (`maxWaitMs`): a submission that waited that long for a flush is refused
 * with an overload error instead of being run late, and while the oldest one has waited that long
 * new submissions are refused at once (a standing queue: arrivals outpace the flushes).
 *
 * Optional keys (`keyOf`): items of one key never run in two flushes at once. A flush that locks
 * rows per key (limits' holds) then never waits on the row locks of a flush still running in this
 * process: a submission whose key is busy keeps its place in the queue and goes with the first flush
 * that starts after its key is free, while the submissions behind it with other keys go at once.
 */
export interface BatcherOptions<I = never> {
  /** Most items per flush; a single larger submission still goes alone, unsplit. */
  maxItems: number;
  /** Flushes allowed to run at once (overlaps one flush's commit with the next one's work). */
  maxInFlight: number;
  /** Items that justify starting a flush while another runs (default 64). */
  overlapMinItems?: number;
  /** Longest an item waits for a running flush before an overlapping one starts, ms (default 2). */
  lingerMs?: number;
  /**
   * Whether a shared flush's failure may concern only some of its submissions (one item's bad
   * value aborted the shared statement). Then the flush's submissions are split in halves, each
   * half flushed again, down to single submissions, so only the callers whose items fail on their
   * own see the error: log2(n) extra flushes for one bad item instead of n. A failure it says
   * concerns everyone (the database is unreachable) fails the whole flush at once. Unset: a failed
   * shared flush is retried once per submission. Only for flushes that change nothing when they
   * fail (one transaction, rolled back).
   */
  splitOnFailure?: (err: unknown) => boolean;
  /**
   * Load shedding: a submission that waited this long (ms) for a flush is rejected with
   * `overloaded()` instead of being run, and while the oldest waiting one is that old a new
   * submission is rejected at once. Callers hear "overloaded, retry" within this bound instead of
   * queueing into seconds. Wall time (performance.now()), not a service clock: it is about
   * latency, not business time. Unset: nothing is shed.
   */
  maxWaitMs?: number;
  /** The error a shed submission is rejected with (default: a {@link BatcherOverloadedError}). */
  overloaded?: (waitedMs: number) => unknown;
  /**
   * The key an item locks (say a customer id). Submissions with a key in a running flush wait for
   * it to finish instead of joining an overlapping flush; within one flush, items of one key are
   * together (the flush orders them). Unset: any submission may join any flush.
   */
  keyOf?: (item: I) => string;
}

/**
 * RESOURCE_EXHAUSTED `overloaded`: the submission waited longer than `maxWaitMs` for a flush and was
 * not run (nothing of it was written). Retry with backoff.
 */
export class BatcherOverloadedError extends TallyError {
  constructor(
    readonly waitedMs: number,
    readonly maxWaitMs: number,
  ) {
    super(Code.ResourceExhausted, "overloaded", `overloaded: waited ${Math.round(waitedMs)} ms for a batch (at most ${maxWaitMs} ms); nothing was done, retry with backoff`, [], {
      metadata: { max_wait_ms: String(maxWaitMs) },
    });
  }
}

interface Submission<I, R> {
  items: I[];
  resolve(results: R[]): void;
  reject(err: unknown): void;
  /** performance.now() when submitted. */
  since: number;
  /** The keys of its items (keyOf), computed once; undefined without keyOf. */
  keys: readonly string[] | undefined;
}

export class Batcher<I, R> {
  private readonly queue: Submission<I, R>[] = [];
  private queuedItems = 0;
  private inFlight = 0;
  private scheduled = false;
  private linger: NodeJS.Timeout | undefined;
  private idle: (() => void)[] = [];
  /** Sheds stale submissions even when no flush completes (every slot stuck, say on a lock). */
  private shedTimer: NodeJS.Timeout | undefined;
  /** With keyOf: the keys of the running flushes, with the number of their submissions. */
  private readonly busy = new Map<string, number>();

  constructor(
    private readonly flush: (items: I[]) => Promise<R[]>,
    private readonly options: BatcherOptions<I>,
  ) {}

  /** Queues `items`; resolves with their results in order, or rejects if their flush failed. */
  submit(items: I[]): Promise<R[]> {
    if (items.length === 0) return Promise.resolve([]);
    const now = performance.now();
    const oldest = this.queue[0];
    if (oldest && now - oldest.since >= this.maxWaitMs) return Promise.reject(this.refusal(now - oldest.since));
    const keys = this.keysOf(items);
    return new Promise<R[]>((resolve, reject) => {
      this.queue.push({ items, resolve, reject, since: now, keys });
      this.queuedItems += items.length;
      this.schedule();
      this.armShedTimer();
    });
  }

  /** One item: its result, or the rejection of its flush. */
  async submitOne(item: I): Promise<R> {
    const [result] = await this.submit([item]);
    return result!;
  }

  /** Resolves once nothing is queued or being flushed. */
  drain(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /**
   * Starts the next flush on the next turn of the event loop rather than synchronously: every
   * call that arrived in the same I/O phase (one network read often holds many) joins it.
   */
  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight || this.queue.length === 0) return;
    if (this.inFlight > 0 && this.queuedItems < (this.options.overlapMinItems ?? 64)) {
      // A flush is running and few items wait: give them a moment to accumulate.
      this.linger ??= setTimeout(() => {
        this.linger = undefined;
        this.startFlush();
      }, this.options.lingerMs ?? 2);
      return;
    }
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.startFlush();
    });
  }

  private startFlush(): void {
    this.shedStale();
    if (this.inFlight >= this.options.maxInFlight || this.queue.length === 0) return;
    if (this.linger) {
      clearTimeout(this.linger);
      this.linger = undefined;
    }
    const taken = this.options.keyOf ? this.takeFreeKeys() : this.takeFront();
    if (taken.length === 0) return; // every queued key is in a running flush: the next to finish reschedules
    this.inFlight++;
    const items = taken.length === 1 ? taken[0]!.items : taken.flatMap((s) => s.items);
    this.run(items, taken).finally(() => {
      this.inFlight--;
      if (this.options.keyOf) this.freeKeys(taken);
      if (this.queue.length > 0) this.schedule();
      else this.notifyIfIdle();
    });
    // Another slot may be free for what is still queued.
    this.schedule();
  }

  /** The queue's first submissions, up to maxItems (at least one). */
  private takeFront(): Submission<I, R>[] {
    const taken: Submission<I, R>[] = [];
    let count = 0;
    while (this.queue.length > 0 && (taken.length === 0 || count + this.queue[0]!.items.length <= this.options.maxItems)) {
      const next = this.queue.shift()!;
      taken.push(next);
      count += next.items.length;
    }
    this.queuedItems -= count;
    return taken;
  }

  /**
   * In queue order, the submissions none of whose keys is in a running flush, up to maxItems; they
   * mark their keys busy. A submission skipped for its key blocks its keys for the ones behind it,
   * so each key's submissions still run in arrival order.
   */
  private takeFreeKeys(): Submission<I, R>[] {
    const taken: Submission<I, R>[] = [];
    const kept: Submission<I, R>[] = [];
    const claimed = new Set<string>();
    const blocked = new Set<string>();
    let count = 0;
    for (const s of this.queue) {
      const keys = s.keys!;
      const fits = taken.length === 0 || count + s.items.length <= this.options.maxItems;
      if (fits && keys.every((k) => !blocked.has(k) && (claimed.has(k) || !this.busy.has(k)))) {
        taken.push(s);
        count += s.items.length;
        for (const k of keys) claimed.add(k);
      } else {
        kept.push(s);
        for (const k of keys) blocked.add(k);
      }
    }
    if (taken.length === 0) return taken;
    this.queue.length = 0;
    this.queue.push(...kept);
    this.queuedItems -= count;
    for (const s of taken) for (const k of s.keys!) this.busy.set(k, (this.busy.get(k) ?? 0) + 1);
    return taken;
  }

  private freeKeys(taken: readonly Submission<I, R>[]): void {
    for (const s of taken) {
      for (const k of s.keys!) {
        const n = this.busy.get(k)! - 1;
        if (n === 0) this.busy.delete(k);
        else this.busy.set(k, n);
      }
    }
  }

  private keysOf(items: readonly I[]): readonly string[] | undefined {
    const keyOf = this.options.keyOf;
    if (!keyOf) return undefined;
    if (items.length === 1) return [keyOf(items[0]!)];
    return [...new Set(items.map(keyOf))];
  }

  private async run(items: I[], taken: Submission<I, R>[]): Promise<void> {
    let results: R[];
    try {
      results = await this.flushChecked(items);
    } catch (err) {
      if (taken.length === 1) {
        taken[0]!.reject(err);
        return;
      }
      const split = this.options.splitOnFailure;
      if (!split) {
        // Retry each submission on its own, once: whatever broke the shared transaction (one
        // caller's odd input, a deadlock) then fails only the callers it concerns.
        for (const s of taken) await this.flushChecked(s.items).then(s.resolve, s.reject);
      } else if (!split(err)) {
        for (const s of taken) s.reject(err);
      } else {
        const half = Math.ceil(taken.length / 2);
        for (const part of [taken.slice(0, half), taken.slice(half)]) await this.run(part.flatMap((s) => s.items), part);
      }
      return;
    }
    let offset = 0;
    for (const s of taken) {
      s.resolve(results.slice(offset, offset + s.items.length));
      offset += s.items.length;
    }
  }

  private async flushChecked(items: I[]): Promise<R[]> {
    const results = await this.flush(items);
    if (results.length !== items.length) throw new Error(`flush returned ${results.length} results for ${items.length} items`);
    return results;
  }

  get pending(): number {
    return this.queuedItems;
  }

  private get maxWaitMs(): number {
    return this.options.maxWaitMs ?? Infinity;
  }

  private refusal(waitedMs: number): unknown {
    return this.options.overloaded ? this.options.overloaded(waitedMs) : new BatcherOverloadedError(waitedMs, this.maxWaitMs);
  }

  /** Rejects the submissions that waited past maxWaitMs (the oldest are first in the queue). */
  private shedStale(): void {
    if (this.queue.length === 0 || !Number.isFinite(this.maxWaitMs)) return;
    const now = performance.now();
    let stale = 0;
    while (stale < this.queue.length && now - this.queue[stale]!.since >= this.maxWaitMs) stale++;
    if (stale === 0) return;
    for (const s of this.queue.splice(0, stale)) {
      this.queuedItems -= s.items.length;
      s.reject(this.refusal(now - s.since));
    }
    if (this.queue.length === 0 && this.linger) {
      clearTimeout(this.linger);
      this.linger = undefined;
    }
    this.notifyIfIdle();
  }

  private armShedTimer(): void {
    const oldest = this.queue[0];
    if (!oldest || this.shedTimer || !Number.isFinite(this.maxWaitMs)) return;
    this.shedTimer = setTimeout(() => {
      this.shedTimer = undefined;
      this.shedStale();
      this.armShedTimer();
    }, Math.max(1, oldest.since + this.maxWaitMs - performance.now()));
    this.shedTimer.unref();
  }

  private notifyIfIdle(): void {
    if (this.queue.length === 0 && this.inFlight === 0) for (const done of this.idle.splice(0)) done();
  }
}

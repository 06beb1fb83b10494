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
 * caller's problem does not fail the others.
 */
export interface BatcherOptions {
  /** Most items per flush; a single larger submission still goes alone, unsplit. */
  maxItems: number;
  /** Flushes allowed to run at once (overlaps one flush's commit with the next one's work). */
  maxInFlight: number;
  /** Items that justify starting a flush while another runs (default 64). */
  overlapMinItems?: number;
  /** Longest an item waits for a running flush before an overlapping one starts, ms (default 2). */
  lingerMs?: number;
}

interface Submission<I, R> {
  items: I[];
  resolve(results: R[]): void;
  reject(err: unknown): void;
}

export class Batcher<I, R> {
  private readonly queue: Submission<I, R>[] = [];
  private queuedItems = 0;
  private inFlight = 0;
  private scheduled = false;
  private linger: NodeJS.Timeout | undefined;
  private idle: (() => void)[] = [];

  constructor(
    private readonly flush: (items: I[]) => Promise<R[]>,
    private readonly options: BatcherOptions,
  ) {}

  /** Queues `items`; resolves with their results in order, or rejects if their flush failed. */
  submit(items: I[]): Promise<R[]> {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise<R[]>((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      this.queuedItems += items.length;
      this.schedule();
    });
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
    if (this.inFlight >= this.options.maxInFlight || this.queue.length === 0) return;
    if (this.linger) {
      clearTimeout(this.linger);
      this.linger = undefined;
    }
    const taken: Submission<I, R>[] = [];
    let count = 0;
    while (this.queue.length > 0 && (taken.length === 0 || count + this.queue[0]!.items.length <= this.options.maxItems)) {
      const next = this.queue.shift()!;
      taken.push(next);
      count += next.items.length;
    }
    this.queuedItems -= count;
    this.inFlight++;
    const items = taken.length === 1 ? taken[0]!.items : taken.flatMap((s) => s.items);
    this.run(items, taken).finally(() => {
      this.inFlight--;
      if (this.queue.length > 0) this.schedule();
      else if (this.inFlight === 0) for (const done of this.idle.splice(0)) done();
    });
    // Another slot may be free for what is still queued.
    this.schedule();
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
      // Retry each submission on its own, once: whatever broke the shared transaction (one
      // caller's odd input, a deadlock) then fails only the callers it concerns.
      for (const s of taken) await this.flushChecked(s.items).then(s.resolve, s.reject);
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
}

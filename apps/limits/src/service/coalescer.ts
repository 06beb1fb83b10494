/**
 * What the Check path needs from a batcher: submit one item, get its own
 * result. Kept this small so the platform's shared batcher can take the
 * Coalescer's place without touching its callers.
 */
export interface Batcher<Req, Res> {
  submit(req: Req): Promise<Res>;
}

export interface CoalescerOptions {
  /** Batches running at once; calls queue while that many are in flight. */
  maxInFlight: number;
  /** Most items per batch. */
  maxBatch: number;
  /**
   * Whether a batch's failure may concern only some of its items (say, one
   * item's bad value aborted the shared statement). Then the batch is split in
   * halves and each half run again, down to single items, so only the callers
   * whose items fail on their own see the error; the others get their results.
   * Failures that concern everyone (the database is unreachable) fail the
   * whole batch at once. Only for runs that change nothing when they fail
   * (one transaction, rolled back).
   */
  concernsSome: (err: unknown) => boolean;
  /**
   * Load shedding: a call that has waited this long for a batch slot is
   * refused with `overloaded()` instead of being run, and while the oldest
   * waiting call is that old a new call is refused at once (the queue is
   * standing: arrivals outpace the batches). Callers hear "overloaded, retry"
   * within this bound instead of queueing into seconds. Wall time, not the
   * service clock: it is about latency, not business time.
   */
  maxWaitMs: number;
  overloaded: () => unknown;
}

const DEFAULTS: CoalescerOptions = {
  maxInFlight: 4,
  maxBatch: 64,
  concernsSome: () => false,
  maxWaitMs: Infinity,
  overloaded: () => new Error("overloaded"),
};

/**
 * Coalesces concurrent calls into batches: a call waits while `maxInFlight`
 * batches are running, and everything that queued meanwhile goes out as one
 * batch (at most `maxBatch`). Idle, a call goes out at once, alone: batching
 * adds no delay of its own, it only stops a busy service from paying the
 * per-statement and per-commit costs (a WAL flush per commit) once per call.
 */
export class Coalescer<Req, Res> implements Batcher<Req, Res> {
  private queue: Pending<Req, Res>[] = [];
  private inFlight = 0;
  /** Sheds the queue's stale calls even when no batch completes (every slot stuck, say on a lock). */
  private shedTimer: NodeJS.Timeout | undefined;
  private readonly options: CoalescerOptions;

  constructor(
    private readonly run: (reqs: Req[]) => Promise<Res[]>,
    options: Partial<CoalescerOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Calls waiting for a batch slot (not counting those in flight). */
  get waiting(): number {
    return this.queue.length;
  }

  submit(req: Req): Promise<Res> {
    const now = performance.now();
    const oldest = this.queue[0];
    if (oldest && now - oldest.since >= this.options.maxWaitMs) return Promise.reject(this.options.overloaded());
    return new Promise<Res>((resolve, reject) => {
      this.queue.push({ req, resolve, reject, since: now });
      this.pump();
    });
  }

  private pump(): void {
    this.shedStale();
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight++;
      void this.runBatch(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
    this.armShedTimer();
  }

  private armShedTimer(): void {
    const oldest = this.queue[0];
    if (!oldest || this.shedTimer || !Number.isFinite(this.options.maxWaitMs)) return;
    this.shedTimer = setTimeout(() => {
      this.shedTimer = undefined;
      this.pump();
    }, Math.max(1, oldest.since + this.options.maxWaitMs - performance.now()));
    this.shedTimer.unref();
  }

  /** Refuses the calls that waited past maxWaitMs (the oldest are first in the queue). */
  private shedStale(): void {
    const cutoff = performance.now() - this.options.maxWaitMs;
    let stale = 0;
    while (stale < this.queue.length && this.queue[stale]!.since <= cutoff) stale++;
    for (const p of this.queue.splice(0, stale)) p.reject(this.options.overloaded());
  }

  private async runBatch(batch: Pending<Req, Res>[]): Promise<void> {
    let results: Res[];
    try {
      results = await this.run(batch.map((b) => b.req));
    } catch (err) {
      if (batch.length > 1 && this.options.concernsSome(err)) {
        const half = Math.ceil(batch.length / 2);
        await this.runBatch(batch.slice(0, half));
        await this.runBatch(batch.slice(half));
      } else {
        for (const b of batch) b.reject(err);
      }
      return;
    }
    batch.forEach((b, i) => b.resolve(results[i]!));
  }
}

interface Pending<Req, Res> {
  req: Req;
  resolve: (res: Res) => void;
  reject: (err: unknown) => void;
  /** performance.now() when submitted. */
  since: number;
}

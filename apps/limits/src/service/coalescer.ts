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
}

const DEFAULTS: CoalescerOptions = { maxInFlight: 4, maxBatch: 64, concernsSome: () => false };

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
    return new Promise<Res>((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight++;
      void this.runBatch(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
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
}

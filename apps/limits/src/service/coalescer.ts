/**
 * Coalesces concurrent calls into batches: a call waits while `maxInFlight`
 * batches are running, and everything that queued meanwhile goes out as one
 * batch (at most `maxBatch`). Idle, a call goes out at once, alone: batching
 * adds no delay of its own, it only stops a busy service from paying the
 * per-statement and per-commit costs once per call.
 */
export class Coalescer<Req, Res> {
  private queue: { req: Req; resolve: (res: Res) => void; reject: (err: unknown) => void }[] = [];
  private inFlight = 0;

  constructor(
    private readonly run: (reqs: Req[]) => Promise<Res[]>,
    private readonly maxInFlight = 4,
    private readonly maxBatch = 64,
  ) {}

  submit(req: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      this.run(batch.map((b) => b.req)).then(
        (results) => batch.forEach((b, i) => b.resolve(results[i]!)),
        (err: unknown) => batch.forEach((b) => b.reject(err)),
      ).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }
}

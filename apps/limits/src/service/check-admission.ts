import { Code, TallyError } from "@tally/platform";

/** A monotonic count, read by whatever exports metrics (the bench reads it directly). */
export class Counter {
  private value = 0;
  get count(): number {
    return this.value;
  }
  inc(): void {
    this.value++;
  }
}

/** Checks refused because limits was overloaded, in this process. */
export const checksShed = new Counter();

/**
 * How long a Check may wait for a database batch before it is refused
 * (the Batcher's maxWaitMs). Well under a product's hot-path
 * deadline, and far above a batch's time when the service keeps up
 * (a few ms): only a standing queue reaches it.
 */
export const MAX_QUEUE_WAIT_MS = 500;

/**
 * How long a reserving Check waits for its row locks (Postgres lock_timeout;
 * migration 003 sets the same value for the batched statement). Contention
 * inside this process waits in memory instead (the slow path runs one Check
 * per key at a time), so only a lock held elsewhere — another instance, the
 * usage projector, a stuck transaction — for this long makes Checks refused.
 */
export const LOCK_WAIT_MS = 1000;

/**
 * RESOURCE_EXHAUSTED: limits has more Checks than it can serve right now and
 * refused this one at once rather than queue it; nothing was held. Retry
 * with backoff.
 */
export class OverloadedError extends TallyError {
  constructor() {
    super(Code.ResourceExhausted, "overloaded", "limits is overloaded: the Check was not run and nothing was held; retry with backoff");
  }
}

/** The error the Check path's batchers refuse an overloaded Check with; counts it. */
export function shedCheck(): OverloadedError {
  checksShed.inc();
  return new OverloadedError();
}

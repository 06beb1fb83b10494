import type { Logger } from "@tally/platform";
import type { Forecaster } from "./forecaster";

export interface RefresherOptions {
  /** A full sweep (every live subscription's open period checked) this often, and at start. */
  intervalMs: number;
  /** After usage of a customer is rated, its billings are checked this much later (coalescing a burst of batches). */
  debounceMs: number;
}

/**
 * Keeps billing_projection fresh off the request path, so ForecastRevenue sums stored rows:
 * - `touch(customers)` — called by the rating consumer after each commit, a Set insert, nothing
 *   more on its path — checks those customers' billings shortly after;
 * - a full sweep at start and every `intervalMs` catches the rest: day boundaries, plan changes,
 *   usage another instance rated, subscriptions created since.
 * Each check is a version comparison in SQL; only stale billings are projected, in chunks that
 * yield to requests. Several instances may refresh the same rows: the work is repeated, the rows
 * agree. One sweep at a time per instance.
 */
export class ProjectionRefresher {
  readonly stats = { sweeps: 0, projected: 0, failures: 0 };
  private readonly dirty = new Set<string>();
  private fullDue = true;
  private running: Promise<void> | undefined;
  private soon: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly forecaster: Forecaster,
    private readonly logger: Logger,
    private readonly opts: RefresherOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.fullDue = true;
      this.kick();
    }, this.opts.intervalMs);
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    this.timer = this.soon = undefined;
    this.dirty.clear();
    this.fullDue = false;
    await this.running;
  }

  /** These customers' usage changed: their billings are checked `debounceMs` from now (or after the pause a sweep left). */
  touch(customerIds: Iterable<string>): void {
    for (const id of customerIds) this.dirty.add(id);
    if (!this.running && this.timer) this.later(this.opts.debounceMs);
  }

  /** A full sweep now; resolves when it (and anything touched meanwhile) is done. */
  async refreshAll(): Promise<void> {
    this.fullDue = true;
    this.kick();
    await this.idle();
  }

  /** Resolves once nothing is pending: what is due is swept at once instead of after the debounce or pause. */
  async idle(): Promise<void> {
    for (;;) {
      if (this.running) {
        await this.running;
        continue;
      }
      if (this.soon) {
        clearTimeout(this.soon);
        this.soon = undefined;
      }
      if (!this.fullDue && this.dirty.size === 0) return;
      this.kick();
    }
  }

  private later(delayMs: number): void {
    if (this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      this.kick();
    }, delayMs);
    this.soon.unref();
  }

  private kick(): void {
    if (this.running) return;
    this.running = this.sweep().finally(() => {
      this.running = undefined;
    });
  }

  /**
   * One sweep; then, if more is due, the next one after a pause of at least {@link DUTY_PAUSE}
   * times the sweep's duration: the refresher shares the event loop with the usage consumer, so it
   * takes at most about a fifth of it while usage keeps arriving.
   */
  private async sweep(): Promise<void> {
    const full = this.fullDue;
    const customers = [...this.dirty];
    this.fullDue = false;
    this.dirty.clear();
    if (!full && customers.length === 0) return;
    const started = performance.now();
    try {
      this.stats.projected += await this.forecaster.refreshStale(full ? undefined : customers);
      this.stats.sweeps++;
    } catch (err) {
      // Nothing is lost: a stale row is projected on request, and the next sweep tries again.
      this.stats.failures++;
      this.logger.warn("projection refresh failed", { err });
    }
    if ((this.fullDue || this.dirty.size > 0) && this.timer) this.later(Math.max(this.opts.debounceMs, DUTY_PAUSE * (performance.now() - started)));
  }
}

/** Pause after a sweep, in multiples of its duration, before the next one. */
const DUTY_PAUSE = 4;

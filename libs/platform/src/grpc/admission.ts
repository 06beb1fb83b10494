import { Code, TallyError } from "../errors/errors";

/**
 * Admission control at the gRPC server's door: a call is refused with RESOURCE_EXHAUSTED
 * `overloaded` as soon as its headers are read (before its body is decoded or its handler runs)
 * when serving it could not end well. A service opts in with its own thresholds (see each
 * service's settings); health and reflection are never refused.
 */
export interface AdmissionOptions {
  /**
   * Refuse while the event loop is this late (ms). A process short of CPU reads calls late: when
   * the loop runs its timers this late, the calls read now have waited about as long in the socket
   * and in grpc-js, unseen, and more are behind them. Refusing costs a status (no decoding, no
   * handler, no database), so refusing is how the backlog drains instead of growing into seconds.
   */
  maxLagMs: number;
  /**
   * Refuse a call whose caller gives it less than this (ms) once the loop's lag is counted: its
   * caller would give up (and cancel it) before it could be answered.
   */
  minDeadlineMs: number;
  /** Told of every call refused here, with its method path (e.g. to count it in a service's metric). */
  onShed?: (method: string) => void;
}

/**
 * How late the event loop is, readable synchronously on the hot path: a timer every `intervalMs`
 * notes how late it ran. A loop blocked right now has not run the timer yet, so a read also counts
 * how overdue the next tick is — the calls read after a long stall are refused at once, before the
 * timer gets its turn (libuv reads sockets before it runs timers that fell due meanwhile).
 *
 * A lag of L ms is held for L ms after the tick that saw it: what arrived during those L ms is
 * read over the next few turns of the loop, each of them short once refusing is all it does, so
 * the next tick alone would call the loop healthy while the calls read are still L ms old.
 */
export class LoopLag {
  private lastTick: number;
  private heldLag = 0;
  private heldUntil = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs = 20,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastTick = now();
  }

  /** Starts sampling (an unref'd timer: it never keeps the process alive). */
  start(): this {
    this.timer ??= setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One sample: how late this tick ran past its due time. Called by the timer (tests call it directly). */
  tick(): void {
    const now = this.now();
    const lag = Math.max(0, now - this.lastTick - this.intervalMs);
    this.lastTick = now;
    if (lag >= this.heldLag || now >= this.heldUntil) {
      this.heldLag = lag;
      this.heldUntil = now + lag;
    }
  }

  /** The loop's lag now (ms): the held one, or how overdue the next tick is, whichever is more. */
  current(): number {
    const now = this.now();
    const held = now < this.heldUntil ? this.heldLag : 0;
    return Math.max(held, now - this.lastTick - this.intervalMs);
  }
}

/** RESOURCE_EXHAUSTED: the server refused the call at its door; nothing ran. Retry with backoff. */
export class ServerOverloadedError extends TallyError {
  constructor() {
    super(Code.ResourceExhausted, "overloaded", "the service is overloaded: the call was refused before it ran; retry with backoff");
  }
}

/**
 * Whether a call may run: not while the loop lags more than `maxLagMs`, nor when its deadline
 * (epoch ms; Infinity when the caller set none), less that lag, leaves under `minDeadlineMs`.
 */
export function admits(options: Pick<AdmissionOptions, "maxLagMs" | "minDeadlineMs">, lagMs: number, deadline: number, nowMs: number): boolean {
  if (lagMs > options.maxLagMs) return false;
  return deadline - nowMs - lagMs >= options.minDeadlineMs;
}

import { int, loadConfig, oneOf } from "@tally/platform";

/**
 * Limits' own settings, on top of the platform's ServiceConfig, validated at start: a bad value
 * stops the service with a message naming the variable.
 */
export interface LimitsSettings {
  /** LIMITS_SWEEP_INTERVAL_MS: how often lapsed reservations expire and due grants are booked (default 1,000). */
  sweepIntervalMs: number;
  /**
   * LIMITS_BLOCK_ON_UNCOLLECTIBLE (`true`/`false`, default false): whether an uncollectible,
   * unpaid invoice blocks a customer's usage, for customers without their own setting
   * (SetCustomerBilling.block_on_uncollectible).
   */
  blockOnUncollectible: boolean;
  /**
   * Admission control on the gRPC port (see the platform's AdmissionOptions): a Check is refused
   * with RESOURCE_EXHAUSTED `overloaded` before it runs when its deadline, less the event loop's
   * lag (about how long it waited unseen in the socket and grpc-js), leaves under
   * LIMITS_SHED_MIN_DEADLINE_MS (default 50: a batch's round trip on a busy box), or, deadline or
   * not, while the loop lags more than LIMITS_SHED_LAG_MS (default 0: off; 500 is the Check path's own
   * MAX_QUEUE_WAIT_MS). Lag caused by other processes' CPU is not cured by refusing, so the lag
   * bound alone is kept high; the deadline rule refuses only calls that would miss it anyway.
   * The lag rule is off by default: it refuses every rpc, admin writes included, and a lag caused
   * by other processes (a busy CI box) refused a credit grant made with no deadline pressure at all.
   * LIMITS_SHED_MIN_DEADLINE_MS=0 turns the deadline rule off too.
   */
  shed: { maxLagMs: number; minDeadlineMs: number } | undefined;
}

export function loadLimitsSettings(env: Record<string, string | undefined> = process.env): LimitsSettings {
  const raw = loadConfig(
    {
      sweepIntervalMs: int("LIMITS_SWEEP_INTERVAL_MS", 1_000, { min: 50, max: 60_000 }),
      blockOnUncollectible: oneOf("LIMITS_BLOCK_ON_UNCOLLECTIBLE", ["true", "false"] as const, "false"),
      shedLagMs: int("LIMITS_SHED_LAG_MS", 0, { min: 0, max: 10_000 }),
      shedMinDeadlineMs: int("LIMITS_SHED_MIN_DEADLINE_MS", 50, { min: 0, max: 10_000 }),
    },
    env,
  );
  return {
    sweepIntervalMs: raw.sweepIntervalMs,
    blockOnUncollectible: raw.blockOnUncollectible === "true",
    shed:
      raw.shedLagMs > 0 || raw.shedMinDeadlineMs > 0
        ? { maxLagMs: raw.shedLagMs > 0 ? raw.shedLagMs : Number.POSITIVE_INFINITY, minDeadlineMs: raw.shedMinDeadlineMs }
        : undefined,
  };
}

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
}

export function loadLimitsSettings(env: Record<string, string | undefined> = process.env): LimitsSettings {
  const raw = loadConfig(
    {
      sweepIntervalMs: int("LIMITS_SWEEP_INTERVAL_MS", 1_000, { min: 50, max: 60_000 }),
      blockOnUncollectible: oneOf("LIMITS_BLOCK_ON_UNCOLLECTIBLE", ["true", "false"] as const, "false"),
    },
    env,
  );
  return { sweepIntervalMs: raw.sweepIntervalMs, blockOnUncollectible: raw.blockOnUncollectible === "true" };
}

import { int, loadConfig } from "@tally/platform";

/**
 * Limits' own settings, on top of the platform's ServiceConfig, validated at start: a bad value
 * stops the service with a message naming the variable.
 */
export interface LimitsSettings {
  /** LIMITS_SWEEP_INTERVAL_MS: how often lapsed reservations expire and due grants are booked (default 1,000). */
  sweepIntervalMs: number;
}

export function loadLimitsSettings(env: Record<string, string | undefined> = process.env): LimitsSettings {
  return loadConfig({ sweepIntervalMs: int("LIMITS_SWEEP_INTERVAL_MS", 1_000, { min: 50, max: 60_000 }) }, env);
}

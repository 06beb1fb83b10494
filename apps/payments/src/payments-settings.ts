import { custom, int, loadConfig, str, url } from "@tally/platform";
import { parseSchedule } from "./domain/dunning";

/**
 * Payments' own settings, on top of the platform's ServiceConfig, validated at start. The
 * Stripe secret key and webhook secret are read here and never logged.
 */
export interface PaymentsSettings {
  /** STRIPE_SECRET_KEY (required): `sk_test_…` for test mode; any `sk_test_…` for stripe-local. */
  stripeSecretKey: string;
  /** STRIPE_WEBHOOK_SECRET (required): the endpoint's signing secret, `whsec_…`. */
  stripeWebhookSecret: string;
  /** STRIPE_API_BASE: https://api.stripe.com (default) or stripe-local's URL. */
  stripeApiBase: string;
  /** STRIPE_TIMEOUT_MS: a provider call with no answer by then has an unknown outcome (default 30 s). */
  stripeTimeoutMs: number;
  /** PAYMENTS_WEBHOOK_ADDRESS: where Stripe's webhooks are received (default 127.0.0.1:50255). */
  webhookAddress: string;
  /** PAYMENTS_WEBHOOK_TOLERANCE_SECONDS: oldest signature accepted (default 300, Stripe's). */
  webhookToleranceSeconds: number;
  /** PAYMENTS_DUNNING_SCHEDULE_DAYS: retry offsets from the first attempt (default "1,3,5,7"). */
  dunningScheduleDays: number[];
  /** PAYMENTS_RESOLVE_AFTER_MS: a pending attempt this old is asked again with its key (default 10 s). */
  resolveAfterMs: number;
  /** PAYMENTS_SWEEP_INTERVAL_MS: how often due retries and stale attempts are looked for (default 1 s). */
  sweepIntervalMs: number;
  /** PAYMENTS_PROVIDER_CONCURRENCY: provider calls in flight per instance (default 64). */
  providerConcurrency: number;
}

export function loadPaymentsSettings(env: Record<string, string | undefined> = process.env): PaymentsSettings {
  return loadConfig(
    {
      stripeSecretKey: str("STRIPE_SECRET_KEY"),
      stripeWebhookSecret: str("STRIPE_WEBHOOK_SECRET"),
      stripeApiBase: url("STRIPE_API_BASE", "https://api.stripe.com", ["http", "https"]),
      stripeTimeoutMs: int("STRIPE_TIMEOUT_MS", 30_000, { min: 100, max: 120_000 }),
      webhookAddress: str("PAYMENTS_WEBHOOK_ADDRESS", "127.0.0.1:50255"),
      webhookToleranceSeconds: int("PAYMENTS_WEBHOOK_TOLERANCE_SECONDS", 300, { min: 1, max: 3600 }),
      dunningScheduleDays: custom("PAYMENTS_DUNNING_SCHEDULE_DAYS", (raw) => parseSchedule(raw ?? "1,3,5,7")),
      resolveAfterMs: int("PAYMENTS_RESOLVE_AFTER_MS", 10_000, { min: 0, max: 3_600_000 }),
      sweepIntervalMs: int("PAYMENTS_SWEEP_INTERVAL_MS", 1_000, { min: 10, max: 600_000 }),
      providerConcurrency: int("PAYMENTS_PROVIDER_CONCURRENCY", 64, { min: 1, max: 1_000 }),
    },
    env,
  );
}

import { ConfigError } from "@tally/platform";
import { loadPaymentsSettings } from "./payments-settings";

describe("payments settings", () => {
  const base = { STRIPE_SECRET_KEY: "sk_test_secret_value", STRIPE_WEBHOOK_SECRET: "whsec_secret_value" };

  it("reads defaults: Stripe's API, the 1,3,5,7 day schedule, webhooks on 50255", () => {
    expect(loadPaymentsSettings(base)).toMatchObject({
      stripeApiBase: "https://api.stripe.com",
      dunningScheduleDays: [1, 3, 5, 7],
      webhookAddress: "127.0.0.1:50255",
      webhookToleranceSeconds: 300,
    });
  });

  it("names every bad variable at once, and never echoes a secret", () => {
    let err: unknown;
    try {
      loadPaymentsSettings({ STRIPE_WEBHOOK_SECRET: "whsec_secret_value", STRIPE_API_BASE: "ftp://x", PAYMENTS_DUNNING_SCHEDULE_DAYS: "3,1" });
    } catch (e) {
      err = e;
    }
    if (!(err instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(err)}`);
    expect(err.problems.join("\n")).toMatch(/STRIPE_SECRET_KEY is required/);
    expect(err.problems.join("\n")).toMatch(/STRIPE_API_BASE/);
    expect(err.problems.join("\n")).toMatch(/PAYMENTS_DUNNING_SCHEDULE_DAYS/);
    expect(err.message).not.toContain("whsec_secret_value");
  });
});

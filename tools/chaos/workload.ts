import { Code, ConnectError } from "@connectrpc/connect";
import { limits, metering, rating } from "@tally/contracts";
import { createServiceClient, type ServiceClient } from "@tally/platform";
import { TEST_KEYS } from "@tally/platform/testing";
import type { Deployment } from "./service-processes";

/** Counts of gRPC status codes seen, by name. */
export class CodeTally {
  readonly counts = new Map<string, number>();
  add(code: Code | "OK"): void {
    const name = code === "OK" ? "OK" : Code[code];
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }
  get(name: string): number {
    return this.counts.get(name) ?? 0;
  }
  toString(): string {
    return [...this.counts].sort((a, b) => b[1] - a[1]).map(([name, n]) => `${name} ${n}`).join(", ");
  }
}

export interface Clients {
  meter: ServiceClient<typeof metering.Meter>;
  rater: ServiceClient<typeof rating.Rating>;
  limiter: ServiceClient<typeof limits.Limits>;
  close(): void;
}

export function connectClients(d: Deployment): Clients {
  const meter = createServiceClient(metering.Meter, d.metering.address, TEST_KEYS.all);
  const rater = createServiceClient(rating.Rating, d.ratings[0]!.address, TEST_KEYS.all);
  const limiter = createServiceClient(limits.Limits, d.limits.address, TEST_KEYS.all);
  return { meter, rater, limiter, close: () => [meter, rater, limiter].forEach((c) => c.close()) };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Retries a setup call until it succeeds (services learn of each other through events). */
export async function eventually<T>(what: string, call: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${ConnectError.from(err).message}`);
      await sleep(200);
    }
  }
}

/** A meter, a plan at 1 per unit (so an amount is a quantity) and one subscription per customer: what ingest and the cap race run on. */
export async function setUp(c: Clients, customers: string[]): Promise<void> {
  await eventually("create meter", () =>
    c.meter.client.createMeter({ meter: { key: "tokens", eventType: "llm.completion", aggregation: metering.Aggregation.SUM, valueProperty: "tokens" } }),
  );
  await eventually("create plan", () =>
    c.rater.client.createPlan({
      plan: {
        key: "chaos",
        name: "Chaos",
        currency: "USD",
        billingInterval: rating.BillingInterval.MONTH,
        components: [{ key: "tokens", meterKey: "tokens", displayName: "Tokens", pricing: { case: "price", value: { model: { case: "perUnit", value: { unitAmount: "1" } } } } }],
      },
    }),
  );
  const start = { seconds: BigInt(Math.floor(Date.now() / 1000) - 3600) };
  for (const customerId of customers) {
    await eventually(`subscribe ${customerId}`, () => c.rater.client.createSubscription({ customerId, planKey: "chaos", startTime: start, idempotencyKey: `sub-${customerId}` }));
  }
}

export function codeOf(err: unknown): Code {
  return ConnectError.from(err).code;
}

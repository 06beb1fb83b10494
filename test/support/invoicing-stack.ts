import type { MessageInitShape } from "@bufbuild/protobuf";
import { startService, type RunningService } from "@tally/platform";
import { createTestClient, createTestEnvironment, ManualClock, TEST_KEYS, type TestEnvironment } from "@tally/platform/testing";
import { invoicing, limits, metering, rating } from "@tally/contracts";
import { meteringService } from "@tally/metering";
import { createRatingService, type RatingSettings } from "@tally/rating";
import { limitsService } from "@tally/limits";
import { createInvoicingService, type InvoicingSettings } from "@tally/invoicing";
import { untilMeterKnown } from "./platform-stack";

type Client<S extends Parameters<typeof createTestClient>[0]> = ReturnType<typeof createTestClient<S>>["client"];

/**
 * Metering, rating, limits and invoicing on one test database and NATS prefix, all reading one
 * ManualClock, so a test can walk through a billing period. Invoicing's own timer is off (an
 * hour): tests drive billing cycles with RunBillingCycle / AdvanceClock.
 */
export interface InvoicingStack {
  env: TestEnvironment;
  clock: ManualClock;
  services: RunningService[];
  meter: Client<typeof metering.Meter>;
  rater: Client<typeof rating.Rating>;
  limiter: Client<typeof limits.Limits>;
  invoicer: Client<typeof invoicing.Invoicing>;
  /** Starts another invoicing instance on the same database (two instances closing the same periods). */
  startInvoicing(): Promise<{ service: RunningService; client: Client<typeof invoicing.Invoicing> }>;
  stop(): Promise<void>;
}

/**
 * `invoicing`: settings of its own on top of the stack's (e.g. the issuer printed on documents);
 * `rating`: options of the rating instance, e.g. a short late window (`lateGraceMinutes`).
 */
export async function startInvoicingStack(
  start: string,
  options: { invoicing?: Partial<InvoicingSettings>; rating?: Partial<RatingSettings> } = {},
): Promise<InvoicingStack> {
  const env = await createTestEnvironment();
  const clock = new ManualClock(start);
  const services: RunningService[] = [];
  const clients: { close(): void }[] = [];
  const stop = async () => {
    for (const c of clients) c.close();
    for (const s of [...services].reverse()) await s.stop();
    await env.close();
  };
  try {
    const m = await startService(meteringService, env.config("metering"), { clock });
    services.push(m);
    const r = await startService(createRatingService(options.rating), env.config("rating"), { clock });
    services.push(r);
    const l = await startService(limitsService, env.config("limits"), { clock });
    services.push(l);
    const startInvoicing = async () => {
      const definition = createInvoicingService({
        rating: { address: r.address, apiKey: TEST_KEYS.read },
        limits: { address: l.address, apiKey: TEST_KEYS.read },
        metering: { address: m.address, apiKey: TEST_KEYS.read },
        cycleIntervalMs: 3_600_000,
        ...options.invoicing,
      });
      const service = await startService(definition, env.config("invoicing"), { clock });
      services.push(service);
      const c = createTestClient(invoicing.Invoicing, service.address, TEST_KEYS.all);
      clients.push(c);
      return { service, client: c.client };
    };
    const first = await startInvoicing();
    const client = <S extends Parameters<typeof createTestClient>[0]>(s: S, address: string) => {
      const c = createTestClient(s, address, TEST_KEYS.all);
      clients.push(c);
      return c.client;
    };
    return {
      env,
      clock,
      services,
      meter: client(metering.Meter, m.address),
      rater: client(rating.Rating, r.address),
      limiter: client(limits.Limits, l.address),
      invoicer: first.client,
      startInvoicing,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A price model of the contract, e.g. `{ case: "perUnit", value: { unitAmount: "0.004" } }`. */
export type PriceModel = MessageInitShape<typeof rating.PriceSchema>["model"];

/**
 * The `calls` meter (SUM of `calls` on `api` events) and plan `basic`: $10 a month in arrears plus
 * calls priced by `model` — the shape the late-usage scenarios share.
 */
export async function createCallsPlan(stack: InvoicingStack, model: PriceModel): Promise<void> {
  await stack.meter.createMeter({ meter: { key: "calls", eventType: "api", aggregation: metering.Aggregation.SUM, valueProperty: "calls" } });
  await untilMeterKnown(() =>
    stack.rater.createPlan({
      plan: {
        key: "basic",
        name: "basic",
        currency: "USD",
        billingInterval: rating.BillingInterval.MONTH,
        recurringFee: { amount: "10", timing: rating.FeeTiming.IN_ARREARS },
        components: [{ key: "calls", meterKey: "calls", displayName: "Calls", pricing: { case: "price", value: { model } } }],
      },
    }),
  );
}

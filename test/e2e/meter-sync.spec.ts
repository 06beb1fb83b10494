import * as net from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { metering, rating } from "@tally/contracts";
import { EventBus, startService, type RunningService } from "@tally/platform";
import { createTestClient, createTestEnvironment, TEST_KEYS, type TestEnvironment } from "@tally/platform/testing";
import { meteringService } from "@tally/metering";
import { createRatingService, loadRatingSettings, type RatingInternals } from "@tally/rating";
import { eventually } from "../support/platform-stack";

/**
 * Rating copies meter definitions from metering's ListMeters at start, so it knows meters whose
 * events it never saw (metering's stream keeps them 7 days). Here rating runs on its own NATS
 * prefix: the copy is the only way it can learn them.
 */
describe("rating copies meter definitions from metering at start", () => {
  let env: TestEnvironment;
  let ratingBus: EventBus;
  const services: RunningService[] = [];
  const clients: { close(): void }[] = [];
  const ratingPrefix = `t${Date.now().toString(16)}r`;

  beforeAll(async () => {
    env = await createTestEnvironment();
    ratingBus = await EventBus.connect({ url: env.natsUrl, prefix: ratingPrefix });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const s of services.reverse()) await s.stop();
    await ratingBus.deletePrefixedStreams();
    await ratingBus.close();
    await env.close();
  });

  async function startRating(on: TestEnvironment, address: string, retryMs?: number): Promise<{ service: RunningService; internals: RatingInternals }> {
    let internals: RatingInternals | undefined;
    const definition = createRatingService({ metering: { address, apiKey: TEST_KEYS.read, retryMs } }, (i) => (internals = i));
    const service = await startService(definition, on.config("rating", { NATS_PREFIX: ratingPrefix }));
    return { service, internals: internals! };
  }

  async function createMeter(address: string, key: string): Promise<void> {
    const meter = createTestClient(metering.Meter, address, TEST_KEYS.admin);
    try {
      await meter.client.createMeter({ meter: { key, eventType: "llm", aggregation: metering.Aggregation.COUNT } });
    } finally {
      meter.close();
    }
  }

  async function createPlan(service: RunningService, key: string, meterKey: string) {
    const rater = createTestClient(rating.Rating, service.address, TEST_KEYS.admin);
    try {
      return await rater.client.createPlan(plan(key, meterKey));
    } finally {
      rater.close();
    }
  }

  const plan = (key: string, meterKey: string) => ({
    plan: {
      key,
      name: key,
      currency: "USD",
      billingInterval: rating.BillingInterval.MONTH,
      components: [{ key: "c", meterKey, displayName: "C", pricing: { case: "price" as const, value: { model: { case: "perUnit" as const, value: { unitAmount: "0.01" } } } } }],
    },
  });

  it("knows active meters and refuses archived ones, without any meter event", async () => {
    const meteringInstance = await startService(meteringService, env.config("metering"));
    services.push(meteringInstance);
    await createMeter(meteringInstance.address, "tokens");
    await createMeter(meteringInstance.address, "old");
    const admin = createTestClient(metering.Meter, meteringInstance.address, TEST_KEYS.admin);
    clients.push(admin);
    await admin.client.archiveMeter({ key: "old" });

    const { service, internals } = await startRating(env, meteringInstance.address);
    services.push(service);
    await internals.meterSync!.whenDone();
    await expect(createPlan(service, "uses_tokens", "tokens")).resolves.toBeDefined();
    const refused = await createPlan(service, "uses_old", "old").catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.InvalidArgument);
    expect((refused as ConnectError).message).toMatch(/meter_key/);
  });

  it("asks metering about a meter created a moment ago, and refuses only one that does not exist", async () => {
    const meteringInstance = await startService(meteringService, env.config("metering"));
    services.push(meteringInstance);
    const { service, internals } = await startRating(env, meteringInstance.address);
    services.push(service);
    await internals.meterSync!.whenDone();
    // Rating's prefix never carries metering's events: without the lookup it would not know this meter.
    await createMeter(meteringInstance.address, "just_created");
    await expect(createPlan(service, "uses_just_created", "just_created")).resolves.toBeDefined();
    const refused = await createPlan(service, "uses_missing", "never_created").catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.InvalidArgument);
    expect((refused as ConnectError).message).toMatch(/plan\.components\[0\]\.meter_key: unknown meter "never_created"/);
  });

  it("starts while metering is down and copies once it answers", async () => {
    const later = await createTestEnvironment();
    const running: RunningService[] = [];
    try {
      const port = await freePort();
      const meteringConfig = later.config("metering", { GRPC_ADDRESS: `127.0.0.1:${port}` });
      const before = await startService(meteringService, meteringConfig);
      await createMeter(before.address, "later");
      await before.stop();

      const { service, internals } = await startRating(later, `127.0.0.1:${port}`, 50);
      running.push(service);
      await eventually(async () => expect(internals.meterSync!.failedAttempts).toBeGreaterThanOrEqual(2)); // metering really was down
      const tooSoon = await createPlan(service, "too_soon", "later").catch((err: unknown) => err);
      expect(tooSoon).toBeInstanceOf(ConnectError);
      expect((tooSoon as ConnectError).code).toBe(Code.Unavailable); // not INVALID_ARGUMENT: the meter exists
      expect((tooSoon as ConnectError).message).toMatch(/plan\.components\[0\]\.meter_key/);
      running.push(await startService(meteringService, meteringConfig));
      await internals.meterSync!.whenDone();
      await expect(createPlan(service, "uses_later", "later")).resolves.toBeDefined();
    } finally {
      for (const r of running.reverse()) await r.stop();
      await later.close();
    }
  });
});

describe("RATING_METERING_ADDRESS and RATING_METERING_API_KEY", () => {
  it("are both needed, each error naming the missing one", () => {
    expect(loadRatingSettings({}).metering).toBeUndefined();
    expect(loadRatingSettings({ RATING_METERING_ADDRESS: "metering:50051", RATING_METERING_API_KEY: "k" }).metering).toEqual({ address: "metering:50051", apiKey: "k" });
    expect(() => loadRatingSettings({ RATING_METERING_ADDRESS: "metering:50051" })).toThrow("RATING_METERING_API_KEY is required when RATING_METERING_ADDRESS is set");
    expect(() => loadRatingSettings({ RATING_METERING_API_KEY: "k" })).toThrow("RATING_METERING_ADDRESS is required when RATING_METERING_API_KEY is set");
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

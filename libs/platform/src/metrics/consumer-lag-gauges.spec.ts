import { until } from "../testing/eventually";
import { createLogger } from "../logging/logger";
import { startConsumer } from "../nats/event-bus";
import { createTestEnvironment, type TestEnvironment } from "../testing/test-environment";
import { registerConsumerLagGauges } from "./consumer-lag-gauges";
import { ServiceMetrics } from "./service-metrics";

const SUBJECT = "tally.metering.v1.lag.probe";

describe("consumer lag gauges", () => {
  let env: TestEnvironment;
  beforeAll(async () => {
    env = await createTestEnvironment();
  });
  afterAll(() => env.close());

  it("reports each durable's undelivered messages at scrape time", async () => {
    const metrics = new ServiceMetrics("rating");
    registerConsumerLagGauges(metrics, env.bus);
    await env.bus.ensureConsumer("metering", "lag-probe", SUBJECT);
    for (let i = 0; i < 3; i++) await env.bus.publish(SUBJECT, new Uint8Array([i]), `lag-${i}`);
    const pending = async () => {
      const line = (await metrics.scrape()).split("\n").find((l) => l.startsWith("tally_jetstream_consumer_pending_messages{") && l.includes('durable="lag-probe"'));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
    };
    expect(await pending()).toBe(3);

    const consumer = await startConsumer({ bus: env.bus, owner: "metering", durable: "lag-probe", subject: SUBJECT, handle: async () => {}, logger: createLogger({}, "silent") });
    try {
      await until("the consumer's pending count at 0", async () => (await pending()) === 0);
      expect(await pending()).toBe(0);
    } finally {
      await consumer.stop();
    }
  });
});

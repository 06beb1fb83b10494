import type { JsMsg } from "nats";
import { createLogger } from "../logging/logger";
import { createTestEnvironment, type TestEnvironment } from "../testing/test-environment";
import { startConsumer } from "./event-bus";

const SUBJECT = "tally.rating.v1.test.happened";
const logger = createLogger({}, "silent");

async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("EventBus", () => {
  let env: TestEnvironment;
  beforeAll(async () => {
    env = await createTestEnvironment();
    await env.bus.ensureStream("rating");
  });
  afterAll(() => env.close());

  it("prefixes subjects and stream names so test runs never meet", () => {
    expect(env.bus.subject("tally.rating.v1.x")).toBe(`${env.natsPrefix}.tally.rating.v1.x`);
    expect(env.bus.streamName("rating")).toBe(`${env.natsPrefix}_TALLY_RATING`);
  });

  it("stores a re-published msgID once", async () => {
    expect((await env.bus.publish(SUBJECT, Buffer.from("a"), "dedup-1")).duplicate).toBe(false);
    expect((await env.bus.publish(SUBJECT, Buffer.from("a"), "dedup-1")).duplicate).toBe(true);
  });

  it("hands messages in batches, and redelivers a batch whose handler failed", async () => {
    const seen: string[] = [];
    let failOnce = true;
    const consumer = await startConsumer({
      bus: env.bus,
      owner: "rating",
      durable: "batch-test",
      subject: SUBJECT,
      logger,
      handle: async (messages: JsMsg[]) => {
        const bodies = messages.map((m) => new TextDecoder().decode(m.data));
        if (failOnce && bodies.includes("m2")) {
          failOnce = false;
          throw new Error("transient");
        }
        seen.push(...bodies);
      },
    });
    try {
      for (const body of ["m1", "m2", "m3"]) await env.bus.publish(SUBJECT, Buffer.from(body), `batch-${body}`);
      await until(() => ["m1", "m2", "m3"].every((b) => seen.includes(b)));
      expect(failOnce).toBe(false);
    } finally {
      await consumer.stop();
    }
    const info = await env.bus.manager.consumers.info(env.bus.streamName("rating"), "batch-test");
    expect(info.num_ack_pending).toBe(0);
  });
});

import { createLogger } from "../logging/logger";
import { until } from "../testing/eventually";
import { createTestEnvironment, type TestEnvironment } from "../testing/test-environment";
import { countDeadLetters, listDeadLetters, replayDeadLetter } from "./dead-letter";
import { startConsumer, type ReceivedEvent } from "./event-bus";

const SUBJECT = "tally.rating.v1.test.happened";
const logger = createLogger({}, "silent");
const body = (m: ReceivedEvent) => new TextDecoder().decode(m.data);


describe("EventBus", () => {
  let env: TestEnvironment;
  beforeAll(async () => {
    env = await createTestEnvironment();
    await env.bus.ensureStream("rating");
  });
  afterAll(() => env.close());

  it("prefixes subjects and stream names so test runs never meet, and strips the prefix again", () => {
    expect(env.bus.subject("tally.rating.v1.x")).toBe(`${env.natsPrefix}.tally.rating.v1.x`);
    expect(env.bus.logicalSubject(env.bus.subject("tally.rating.v1.x"))).toBe("tally.rating.v1.x");
    expect(env.bus.streamName("rating")).toBe(`${env.natsPrefix}_TALLY_RATING`);
  });

  it("stores a re-published msgID once", async () => {
    expect((await env.bus.publish(SUBJECT, Buffer.from("a"), "dedup-1")).duplicate).toBe(false);
    expect((await env.bus.publish(SUBJECT, Buffer.from("a"), "dedup-1")).duplicate).toBe(true);
  });

  it("hands messages with their logical subject, and redelivers only the message whose handling failed", async () => {
    const handled: string[][] = [];
    const subjects = new Set<string>();
    const deliveries = new Map<string, number[]>();
    let failOnce = true;
    const consumer = await startConsumer({
      bus: env.bus,
      owner: "rating",
      durable: "batch-test",
      subject: SUBJECT,
      logger,
      redelivery: { maxDeliver: 3, backoffMs: [0] },
      handle: async (messages) => {
        const bodies = messages.map(body);
        for (const m of messages) {
          subjects.add(m.subject);
          deliveries.set(body(m), [...(deliveries.get(body(m)) ?? []), m.deliveries]);
        }
        if (failOnce && bodies.includes("m2")) {
          if (bodies.length === 1) failOnce = false;
          throw new Error("transient");
        }
        handled.push(bodies);
      },
    });
    try {
      for (const b of ["m1", "m2", "m3"]) await env.bus.publish(SUBJECT, Buffer.from(b), `batch-${b}`);
      await until("m1–m3 handled", () => ["m1", "m2", "m3"].every((b) => handled.flat().includes(b)));
    } finally {
      await consumer.stop();
    }
    expect([...subjects]).toEqual([SUBJECT]);
    // m2 failed alone too, so it alone came back (second delivery); m1 and m3 were handled once.
    expect(deliveries.get("m2")?.at(-1)).toBe(2);
    expect(handled.flat().filter((b) => b === "m1" || b === "m3").sort()).toEqual(["m1", "m3"]);
    const info = await env.bus.manager.consumers.info(env.bus.streamName("rating"), "batch-test");
    expect(info.num_ack_pending).toBe(0);
  });

  it("dead-letters a message that keeps failing after maxDeliver deliveries, keeps it whole, and replays it", async () => {
    const poison = "tally.rating.v1.poison.happened";
    let healed = false;
    const attempts: number[] = [];
    const ok: string[] = [];
    const consumer = await startConsumer({
      bus: env.bus,
      owner: "rating",
      durable: "dead-letter-test",
      subject: "tally.rating.v1.poison.>",
      logger,
      redelivery: { maxDeliver: 3, backoffMs: [5, 10] },
      handle: async (messages) => {
        for (const m of messages) {
          if (body(m) === "bad" && !healed) {
            attempts.push(m.deliveries);
            throw new Error("cannot decode");
          }
          ok.push(body(m));
        }
      },
    });
    try {
      await env.bus.publish(poison, Buffer.from("bad"), "poison-1");
      await env.bus.publish(poison, Buffer.from("good"), "poison-2");
      await until("one dead letter", async () => (await countDeadLetters(env.bus, "dead-letter-test")) === 1);
      expect(attempts).toEqual(expect.arrayContaining([1, 2, 3]));
      expect(Math.max(...attempts)).toBe(3);
      expect(ok).toEqual(["good"]);

      const [letter] = await listDeadLetters(env.bus, "dead-letter-test");
      expect(letter).toMatchObject({ consumer: "dead-letter-test", subject: poison, originalMsgId: "poison-1", deliveries: 3 });
      expect(letter!.error).toContain("cannot decode");
      expect(new TextDecoder().decode(letter!.data)).toBe("bad");

      healed = true;
      await replayDeadLetter(env.bus, letter!.seq);
      await until("the replayed message handled", () => ok.includes("bad"));
      expect(await countDeadLetters(env.bus, "dead-letter-test")).toBe(0);
    } finally {
      await consumer.stop();
    }
  });
});

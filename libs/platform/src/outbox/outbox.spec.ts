import { createLogger } from "../logging/logger";
import { until } from "../testing/eventually";
import { createPool, type Pool } from "../postgres/database";
import { withTransaction } from "../postgres/transaction";
import { migrate } from "../postgres/migrations";
import { createTestEnvironment, type TestEnvironment } from "../testing/test-environment";
import type { EventBus } from "../nats/event-bus";
import { ServiceMetrics } from "../metrics/service-metrics";
import { enqueue, OutboxRelay } from "./outbox";

const SUBJECT = "tally.metering.v1.test.happened";

describe("transactional outbox", () => {
  let env: TestEnvironment;
  let pool: Pool;
  const logger = createLogger({}, "silent");

  beforeAll(async () => {
    env = await createTestEnvironment();
    pool = createPool(env.database.url, "metering");
    await migrate(pool, "metering", []);
    await env.bus.ensureStream("metering");
  });
  afterAll(async () => {
    await pool.end();
    await env.close();
  });
  beforeEach(() => pool.query("DELETE FROM outbox"));

  /** A relay counting into a fresh `tally_events_published_total`; `published()` reads it. */
  function countingRelay() {
    const published = new ServiceMetrics("metering").counter("events_published_total", "test", ["subject"]);
    const relay = new OutboxRelay({ pool, bus: env.bus, schema: "metering", logger, published });
    return { relay, published: async () => (await published.get()).values.find((v) => v.labels.subject === SUBJECT)?.value ?? 0 };
  }

  async function streamMessages(): Promise<string[]> {
    const name = env.bus.streamName("metering");
    const info = await env.bus.manager.streams.info(name);
    const seen: string[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const msg = await env.bus.manager.streams.getMessage(name, { seq }).catch(() => undefined);
      if (msg) seen.push(new TextDecoder().decode(msg.data));
    }
    return seen;
  }

  it("publishes what was committed and nothing that was rolled back", async () => {
    await withTransaction(pool, (c) => enqueue(c, [{ subject: SUBJECT, msgId: "m-commit", payload: Buffer.from("committed") }]));
    await expect(
      withTransaction(pool, async (c) => {
        await enqueue(c, [{ subject: SUBJECT, msgId: "m-rollback", payload: Buffer.from("rolled back") }]);
        throw new Error("business rule failed");
      }),
    ).rejects.toThrow("business rule failed");

    const relay = new OutboxRelay({ pool, bus: env.bus, schema: "metering", logger });
    expect(await relay.flush()).toBe(1);
    expect(await streamMessages()).toContain("committed");
    expect(await streamMessages()).not.toContain("rolled back");
    expect((await pool.query("SELECT count(*)::int AS n FROM outbox")).rows[0].n).toBe(0);
  });

  it("publishes once when a crash hit between publish and delete", async () => {
    await withTransaction(pool, (c) => enqueue(c, [{ subject: SUBJECT, msgId: "m-crash", payload: Buffer.from("crash") }]));
    // The first relay publishes, then "crashes" before its delete commits.
    const before = (await streamMessages()).length;
    const ack = await env.bus.publish(SUBJECT, Buffer.from("crash"), "m-crash");
    expect(ack.duplicate).toBe(false);
    // After restart the row is still there and is sent again: JetStream keeps one copy, and
    // the counter does not count it a second time.
    const { relay, published } = countingRelay();
    expect(await relay.flush()).toBe(1);
    expect(await published()).toBe(0);
    const after = await streamMessages();
    expect(after.length).toBe(before + 1);
    expect(after.filter((m) => m === "crash")).toHaveLength(1);
  });

  it("wakes on commit when running and flushes on stop", async () => {
    const relay = new OutboxRelay({ pool, bus: env.bus, schema: "metering", logger, pollIntervalMs: 60_000 });
    await relay.start();
    await withTransaction(pool, (c) => enqueue(c, [{ subject: SUBJECT, msgId: "m-live", payload: Buffer.from("live") }]));
    await until("the committed message relayed", async () => (await pool.query("SELECT count(*)::int AS n FROM outbox")).rows[0].n === 0);
    await withTransaction(pool, (c) => enqueue(c, [{ subject: SUBJECT, msgId: "m-last", payload: Buffer.from("last") }]));
    await relay.stop();
    expect(await streamMessages()).toEqual(expect.arrayContaining(["live", "last"]));
  });

  it("stores many messages (several statements) in order, binary payloads byte for byte", async () => {
    const payload = (i: number) => Uint8Array.from({ length: 300 }, (_, k) => (i * 31 + k * 7) % 256); // includes 0x00 and 0x5c
    const messages = Array.from({ length: 250 }, (_, i) => ({ subject: SUBJECT, msgId: `m-many-${i}`, payload: payload(i) }));
    await withTransaction(pool, (c) => enqueue(c, messages));
    const { rows } = await pool.query<{ msg_id: string; payload: Buffer }>("SELECT msg_id, payload FROM outbox ORDER BY id");
    expect(rows.map((r) => r.msg_id)).toEqual(messages.map((m) => m.msgId));
    rows.forEach((r, i) => expect(r.payload.equals(Buffer.from(payload(i)))).toBe(true));
  });

  describe("publishCommitted", () => {
    const outboxRows = async () => (await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox")).rows[0]!.n;

    it("returns the ids of the rows, in order", async () => {
      const messages = Array.from({ length: 150 }, (_, i) => ({ subject: SUBJECT, msgId: `m-ids-${i}`, payload: Buffer.from(`ids ${i}`) }));
      const queued = await withTransaction(pool, (c) => enqueue(c, messages, { notify: false }));
      const { rows } = await pool.query<{ id: string; msg_id: string }>("SELECT id::text, msg_id FROM outbox ORDER BY id");
      expect(queued.ids).toEqual(rows.map((r) => r.id));
      expect(rows.map((r) => r.msg_id)).toEqual(messages.map((m) => m.msgId));
    });

    it("publishes from memory, once, and deletes the rows", async () => {
      const queued = await withTransaction(pool, (c) => enqueue(c, [{ subject: SUBJECT, msgId: "m-memory", payload: Buffer.from("from memory") }], { notify: false }));
      // Proof that the payload is not read back: the stored copy no longer matches.
      await pool.query("UPDATE outbox SET payload = 'stored copy'::bytea");
      const relay = new OutboxRelay({ pool, bus: env.bus, schema: "metering", logger });
      relay.publishCommitted(queued);
      await relay.whenPublished();
      expect(await outboxRows()).toBe(0);
      expect((await streamMessages()).filter((m) => m === "from memory" || m === "stored copy")).toEqual(["from memory"]);
    });

    it("is stored once when the relay loop publishes the same rows", async () => {
      const queued = await withTransaction(pool, (c) => enqueue(c, [{ subject: SUBJECT, msgId: "m-both", payload: Buffer.from("sent twice, stored once") }], { notify: false }));
      const { relay, published } = countingRelay();
      relay.publishCommitted(queued);
      await relay.flush();
      await relay.whenPublished();
      expect(await outboxRows()).toBe(0);
      expect(await published()).toBe(1);
      expect((await streamMessages()).filter((m) => m === "sent twice, stored once")).toHaveLength(1);
    });

    it("keeps the rows when publishing fails, for the relay loop to send", async () => {
      const queued = await withTransaction(pool, (c) => enqueue(c, [{ subject: SUBJECT, msgId: "m-retry", payload: Buffer.from("after a failure") }], { notify: false }));
      const natsDown = { publish: () => Promise.reject(new Error("nats down")) } as unknown as EventBus;
      const failing = new OutboxRelay({ pool, bus: natsDown, schema: "metering", logger });
      failing.publishCommitted(queued);
      await failing.whenPublished();
      expect(await outboxRows()).toBe(1);
      const relay = new OutboxRelay({ pool, bus: env.bus, schema: "metering", logger });
      expect(await relay.flush()).toBe(1);
      expect((await streamMessages()).filter((m) => m === "after a failure")).toHaveLength(1);
    });
  });
});

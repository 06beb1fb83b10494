import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Metadata } from "@grpc/grpc-js";
import { metering, SUBJECTS } from "@tally/contracts";
import { createLogger, createPool, EventBus, migrate, ServiceMetrics, startService, type CallContext, type ServiceHandlers } from "@tally/platform";
import { createTestEnvironment, ManualClock, type TestEnvironment } from "@tally/platform/testing";
import { createMeteringService } from "./metering-service";
import { eventually, startMetering, streamMessages, ts, usageRecorded, type MeteringHarness } from "./testing/metering-harness";

const SUBJECT = SUBJECTS.metering.usageRecorded;

describe("UsageRecorded publishing", () => {
  describe("what is published", () => {
    let h: MeteringHarness;
    beforeAll(async () => {
      h = await startMetering();
      const meters = [
        { key: "calls", eventType: "llm", aggregation: metering.Aggregation.COUNT },
        { key: "tokens", eventType: "llm", aggregation: metering.Aggregation.SUM, valueProperty: "tokens", groupBy: ["model", "region"] },
        { key: "users", eventType: "llm", aggregation: metering.Aggregation.UNIQUE_COUNT, valueProperty: "user" },
        { key: "eu_calls", eventType: "llm", aggregation: metering.Aggregation.COUNT, filters: [{ property: "region", values: ["eu"] }] },
        { key: "other", eventType: "other", aggregation: metering.Aggregation.COUNT, filters: [{ property: "x", values: ["y"] }] },
      ];
      for (const meter of meters) await h.admin.createMeter({ meter });
    });
    afterAll(() => h.close());

    it("publishes each accepted event once, with one reading per matching meter", async () => {
      await h.ingest.record({ event: { id: "pub_1", customerId: "c1", eventType: "llm", time: ts("2026-03-15T11:00:00.5Z"), properties: { tokens: "1.50", model: "gpt", user: " Ann ", region: "us" } } });
      await h.ingest.record({ event: { id: "pub_1", customerId: "c1", eventType: "llm", time: ts("2026-03-15T11:00:00.5Z"), properties: { tokens: "1.50", model: "gpt", user: " Ann ", region: "us" } } });
      await h.ingest.record({ event: { id: "pub_2", customerId: "c1", eventType: "other", properties: { x: "z" } } });
      await eventually(async () => (await usageRecorded(h.env)).flatMap((m) => m.events).length >= 2);

      const messages = await usageRecorded(h.env);
      const events = messages.flatMap((m) => m.events);
      expect(events.map((e) => e.id)).toEqual(["pub_1", "pub_2"]);
      const [first, second] = events;
      expect(first).toMatchObject({ customerId: "c1", eventType: "llm", properties: { tokens: "1.50", model: "gpt", user: " Ann ", region: "us" } });
      expect(timestampDate(first!.time!)).toEqual(new Date("2026-03-15T11:00:00.5Z"));
      expect(timestampDate(first!.recordTime!)).toEqual(h.clock.now());
      expect(first!.readings.map((r) => [r.meterKey, r.aggregation, r.value, r.group])).toEqual([
        ["calls", metering.Aggregation.COUNT, "1", {}],
        ["tokens", metering.Aggregation.SUM, "1.5", { model: "gpt", region: "us" }],
        ["users", metering.Aggregation.UNIQUE_COUNT, " Ann ", {}],
      ]);
      // An event of a known type that no meter's filter selects is recorded and published without readings.
      expect(second!.readings).toEqual([]);

      const raw = await streamMessages(h.env, SUBJECT);
      for (const [i, m] of messages.entries()) {
        expect(m.meta).toMatchObject({ source: "tally.metering", subject: SUBJECT });
        expect(m.meta!.id).toMatch(/^usage:/);
        expect(raw[i]!.msgId).toBe(m.meta!.id);
      }
    });

    it("carries many events per message, at most 1,000", async () => {
      const events = Array.from({ length: 2_500 }, (_, i) => ({ id: `many_${i}`, customerId: "c2", eventType: "llm", properties: { tokens: "1", model: "m", user: "u" } }));
      expect((await h.ingest.recordBatch({ events })).acceptedCount).toBe(2_500);
      await eventually(async () => (await usageRecorded(h.env)).flatMap((m) => m.events).filter((e) => e.customerId === "c2").length === 2_500);
      const sizes = (await usageRecorded(h.env)).filter((m) => m.events[0]?.customerId === "c2").map((m) => m.events.length);
      expect(sizes).toEqual([1000, 1000, 500]);
    });
  });

  describe("a crash between commit and publish", () => {
    let env: TestEnvironment;
    beforeAll(async () => {
      env = await createTestEnvironment();
    });
    afterAll(() => env.close());

    it("still publishes the committed events, once, when a new instance starts", async () => {
      const definition = createMeteringService();
      const config = env.config("metering");
      const clock = new ManualClock("2026-03-15T12:00:00Z");

      // An instance that records but dies before its outbox relay ever runs: built by hand,
      // without the platform host that would start the relay.
      const pool = createPool(config.databaseUrl, "metering");
      await migrate(pool, "metering", definition.migrations);
      const bus = await EventBus.connect({ url: config.natsUrl, prefix: config.natsPrefix });
      await bus.ensureStream("metering");
      // It dies right after each commit: what it committed is never published by it.
      const diesBeforePublishing = { publishCommitted: () => undefined };
      const parts = await definition.build({ config, logger: createLogger({}, "silent"), pool, bus, clock, outbox: diesBeforePublishing, metrics: new ServiceMetrics("metering") });
      const handlers = parts.services[0]!.handlers as unknown as ServiceHandlers<typeof metering.Meter>;
      const context = (scope: "admin" | "ingest"): CallContext => ({
        method: "test",
        principal: { keyName: "test", scopes: new Set([scope]) },
        metadata: new Metadata(),
      });
      await handlers.createMeter(create(metering.CreateMeterRequestSchema, { meter: { key: "calls", eventType: "llm", aggregation: metering.Aggregation.COUNT } }), context("admin"));
      const res = await handlers.record(create(metering.RecordRequestSchema, { event: { id: "crash_1", customerId: "c1", eventType: "llm" } }), context("ingest"));
      expect(res.result?.status).toBe(metering.EventStatus.ACCEPTED);
      // Committed (the caller heard ACCEPTED), not published.
      expect((await pool.query("SELECT count(*)::int AS n FROM outbox")).rows[0].n).toBe(2);
      expect(await usageRecorded(env)).toEqual([]);
      // The crash: the process is gone, nothing more is flushed.
      await parts.stop?.();
      await pool.end();
      await bus.close();

      // A new instance publishes what the dead one committed.
      const restarted = await startService(definition, config, { clock });
      try {
        await eventually(async () => (await usageRecorded(env)).length > 0);
        const published = await usageRecorded(env);
        expect(published.flatMap((m) => m.events.map((e) => e.id))).toEqual(["crash_1"]);
        expect((await restarted.deps.pool.query("SELECT count(*)::int AS n FROM outbox")).rows[0].n).toBe(0);

        // Had the dead instance published just before dying, the re-publication carries the same
        // msgID and JetStream keeps one copy.
        const msgId = published[0]!.meta!.id;
        const again = await env.bus.publish(SUBJECT, new Uint8Array([1]), msgId);
        expect(again.duplicate).toBe(true);
        expect((await streamMessages(env, SUBJECT)).map((m) => m.msgId)).toEqual([msgId]);
      } finally {
        await restarted.stop();
      }
    });
  });
});

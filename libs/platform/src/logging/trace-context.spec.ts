import { createPool, type Pool } from "../postgres/database";
import { migrate } from "../postgres/migrations";
import { withTransaction } from "../postgres/transaction";
import { startConsumer, type ReceivedEvent } from "../nats/event-bus";
import { enqueue, OutboxRelay } from "../outbox/outbox";
import { createTestEnvironment, type TestEnvironment } from "../testing/test-environment";
import { createLogger } from "./logger";
import { continuedTraceparent, continueTrace, currentTrace, currentTraceparent, parseTraceparent, runInTrace } from "./trace-context";

const SUBJECT = "tally.metering.v1.trace.probe";
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const INCOMING = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

describe("W3C trace context", () => {
  it("continues a valid traceparent with a new span id, and starts a new trace otherwise", () => {
    const continued = parseTraceparent(runInTrace(INCOMING, currentTraceparent));
    expect(continued).toMatchObject({ traceId: TRACE_ID, flags: "01" });
    expect(continued!.spanId).not.toBe("00f067aa0ba902b7");
    for (const bad of [undefined, "garbage", `00-${"0".repeat(32)}-00f067aa0ba902b7-01`, `00-${TRACE_ID}-${"0".repeat(16)}-01`]) {
      const fresh = parseTraceparent(runInTrace(bad, currentTraceparent));
      expect(fresh!.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(fresh!.traceId).not.toBe(TRACE_ID);
    }
    expect(currentTraceparent()).toBeUndefined();
  });

  it("draws a new trace's ids once, when first read, and keeps them for the whole call", () => {
    const trace = continueTrace(undefined);
    const first = { traceId: trace.traceId, spanId: trace.spanId };
    expect(first.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(first.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect({ traceId: trace.traceId, spanId: trace.spanId }).toEqual(first);
    runInTrace(undefined, () => {
      const outbound = currentTraceparent();
      expect(currentTraceparent()).toBe(outbound);
      expect(currentTrace()!.traceId).toBe(parseTraceparent(outbound)!.traceId);
    });
  });

  it("offers a continued traceparent only for calls that came with one", () => {
    const continued = runInTrace(INCOMING, () => [continuedTraceparent(), currentTraceparent()]);
    expect(continued[0]).toBe(continued[1]);
    expect(parseTraceparent(continued[0])?.traceId).toBe(TRACE_ID);
    expect(runInTrace(undefined, continuedTraceparent)).toBeUndefined();
    expect(runInTrace("garbage", continuedTraceparent)).toBeUndefined();
    expect(continuedTraceparent()).toBeUndefined();
  });

  it("puts trace_id on every log line inside a trace, and none outside", () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ service: "t" }, "info", (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
    runInTrace(INCOMING, () => logger.child({ part: "x" }).info("inside"));
    logger.info("outside");
    expect(lines[0]).toMatchObject({ msg: "inside", trace_id: TRACE_ID, part: "x" });
    expect(lines[1]).not.toHaveProperty("trace_id");
  });

  describe("through the outbox and NATS", () => {
    let env: TestEnvironment;
    let pool: Pool;
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

    it("sends the enqueuing call's trace as the message header, restored around the consumer's handler", async () => {
      const logger = createLogger({}, "silent");
      const relay = new OutboxRelay({ pool, bus: env.bus, schema: "metering", logger });
      // From memory (publishCommitted) and from the table (the relay loop): both carry it.
      await runInTrace(INCOMING, async () => {
        relay.publishCommitted(await withTransaction(pool, (c) => enqueue(c, [{ subject: SUBJECT, msgId: "t-memory", payload: Buffer.from("a") }], { notify: false })));
        await withTransaction(pool, (c) => enqueue(c, [{ subject: SUBJECT, msgId: "t-loop", payload: Buffer.from("b") }], { notify: false }));
      });
      await relay.whenPublished();
      await relay.flush();

      const lines: Record<string, unknown>[] = [];
      const seen: ReceivedEvent[] = [];
      const consumerLogger = createLogger({}, "info", (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
      let done!: () => void;
      const both = new Promise<void>((resolve) => (done = resolve));
      const consumer = await startConsumer({
        bus: env.bus,
        owner: "metering",
        durable: "trace-probe",
        subject: SUBJECT,
        logger: consumerLogger,
        maxBatch: 1,
        handle: async (events) => {
          seen.push(...events);
          consumerLogger.info("handled", { seq: events[0]!.seq });
          if (seen.length === 2) done();
        },
      });
      try {
        await both;
      } finally {
        await consumer.stop();
      }
      expect(seen.map((e) => parseTraceparent(e.traceparent)?.traceId)).toEqual([TRACE_ID, TRACE_ID]);
      expect(lines.map((l) => [l.msg, l.trace_id])).toEqual([
        ["handled", TRACE_ID],
        ["handled", TRACE_ID],
      ]);
    });
  });
});

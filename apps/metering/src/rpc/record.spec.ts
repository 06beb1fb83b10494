import { Code } from "@connectrpc/connect";
import { metering } from "@tally/contracts";
import { startService } from "@tally/platform";
import { createTestClient, TEST_KEYS } from "@tally/platform/testing";
import { createMeteringService } from "../metering-service";
import { countRows, eventually, failure, startMetering, ts, type EventInit, type MeteringHarness } from "../testing/metering-harness";

const { ACCEPTED, DUPLICATE, CONFLICT, REJECTED } = metering.EventStatus;

describe("Meter.Record and Meter.RecordBatch", () => {
  let h: MeteringHarness;

  beforeAll(async () => {
    h = await startMetering();
    await h.admin.createMeter({ meter: { key: "llm_tokens", eventType: "llm.completion", aggregation: metering.Aggregation.SUM, valueProperty: "tokens", groupBy: ["model"] } });
    await h.admin.createMeter({ meter: { key: "llm_calls", eventType: "llm.completion", aggregation: metering.Aggregation.COUNT } });
    await h.admin.createMeter({ meter: { key: "credits", eventType: "credit.adjust", aggregation: metering.Aggregation.SUM, valueProperty: "amount", allowNegative: true } });
  });
  afterAll(() => h.close());

  let n = 0;
  /** A valid event with a fresh id. */
  const event = (overrides: Partial<EventInit> = {}): EventInit => ({
    id: `evt_${++n}`,
    customerId: "cust_1",
    eventType: "llm.completion",
    properties: { tokens: "100", model: "gpt-4o" },
    ...overrides,
  });

  async function storedIds(ids: string[]): Promise<string[]> {
    const { rows } = await h.service.deps.pool.query<{ event_id: string }>("SELECT event_id FROM events WHERE event_id = ANY($1) ORDER BY event_id", [ids]);
    return rows.map((r) => r.event_id);
  }

  describe("idempotency", () => {
    it("accepts an event once; the same event again is a DUPLICATE, stored once", async () => {
      const e = event();
      expect((await h.ingest.record({ event: e })).result).toMatchObject({ eventId: e.id, status: ACCEPTED });
      expect((await h.ingest.record({ event: e })).result).toMatchObject({ eventId: e.id, status: DUPLICATE });
      expect(await storedIds([e.id!])).toEqual([e.id]);
    });

    it("rejects the same id with different content as ALREADY_EXISTS (idempotency_conflict), keeping the stored event", async () => {
      const e = event({ time: ts("2026-03-15T11:59:00.250Z") });
      await h.ingest.record({ event: e });
      const f = await failure(h.ingest.record({ event: { ...e, properties: { tokens: "101", model: "gpt-4o" } } }));
      expect(f).toMatchObject({ code: Code.AlreadyExists, reason: "idempotency_conflict" });
      expect(f.message).toContain(e.id);
      for (const changed of [{ customerId: "cust_2" }, { eventType: "credit.adjust", properties: { amount: "1" } }, { time: ts("2026-03-15T11:59:00.251Z") }]) {
        expect((await failure(h.ingest.record({ event: { ...e, ...changed } }))).code).toBe(Code.AlreadyExists);
      }
    });

    it("treats a retry that omits the time as the event whose time was defaulted", async () => {
      const e = event();
      await h.ingest.record({ event: e });
      h.clock.advance(30_000);
      expect((await h.ingest.record({ event: e })).result?.status).toBe(DUPLICATE);
      // …and a retry that now names the time the server chose.
      expect((await h.ingest.record({ event: { ...e, time: ts("2026-03-15T12:00:00Z") } })).result?.status).toBe(DUPLICATE);
    });

    it("accepts exactly one of 20 concurrent Records of one id", async () => {
      const e = event();
      const results = await Promise.all(Array.from({ length: 20 }, () => h.ingest.record({ event: e })));
      const statuses = results.map((r) => r.result?.status);
      expect(statuses.filter((s) => s === ACCEPTED)).toHaveLength(1);
      expect(statuses.filter((s) => s === DUPLICATE)).toHaveLength(19);
      expect(await storedIds([e.id!])).toEqual([e.id]);
    });

    it("accepts exactly one of 20 concurrent Records of one id with different contents; the others conflict", async () => {
      const id = event().id;
      const settled = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => h.ingest.record({ event: event({ id, properties: { tokens: String(i), model: "m" } }) })),
      );
      expect(settled.filter((s) => s.status === "fulfilled")).toHaveLength(1);
      const codes = await Promise.all(settled.filter((s) => s.status === "rejected").map((s) => failure(Promise.reject((s as PromiseRejectedResult).reason))));
      expect(codes.map((c) => c.code)).toEqual(Array(19).fill(Code.AlreadyExists));
    });

    it("accepts exactly one of concurrent Records of one id sent to two instances (the database decides)", async () => {
      const second = await startService(createMeteringService(), h.env.config("metering"), { clock: h.clock });
      const other = createTestClient(metering.Meter, second.address, TEST_KEYS.ingest);
      try {
        const e = event();
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? other.client : h.ingest).record({ event: e })));
        expect(results.filter((r) => r.result?.status === ACCEPTED)).toHaveLength(1);
        expect(results.filter((r) => r.result?.status === DUPLICATE)).toHaveLength(19);
      } finally {
        other.close();
        await second.stop();
      }
    });

    describe("racing a transaction that is inserting the same id", () => {
      /**
       * Inserts `e` in an open transaction, starts Record of `sent` (same id), waits until it blocks
       * on that row, then ends the transaction: the status Record answers, or its failure.
       */
      async function race(e: EventInit, end: "COMMIT" | "ROLLBACK", sent: EventInit = e) {
        const other = await h.service.deps.pool.connect();
        try {
          await other.query("BEGIN");
          await other.query(
            `INSERT INTO events (event_id, customer_id, event_type, event_time, time_given, properties, recorded_at)
             VALUES ($1, $2, $3, now(), false, $4, now())`,
            [e.id, e.customerId, e.eventType, e.properties],
          );
          const recording = h.ingest.record({ event: sent }).then(
            (r) => r.result?.status,
            (err: unknown) => failure(Promise.reject(err)),
          );
          await eventually(async () => {
            const { rows } = await h.service.deps.pool.query<{ n: number }>(
              "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
            );
            return rows[0]!.n > 0;
          });
          await other.query(end);
          return await recording;
        } finally {
          other.release();
        }
      }

      it("reports a DUPLICATE once the other transaction commits the same event", async () => {
        const e = event();
        expect(await race(e, "COMMIT")).toBe(DUPLICATE);
        expect(await storedIds([e.id!])).toEqual([e.id]);
      });

      it("reports a conflict once the other transaction commits other content under the id", async () => {
        const e = event();
        const outcome = await race(e, "COMMIT", { ...e, properties: { tokens: "999", model: "gpt-4o" } });
        expect(outcome).toMatchObject({ code: Code.AlreadyExists });
      });

      it("records the event when the other transaction rolls back", async () => {
        const e = event();
        expect(await race(e, "ROLLBACK")).toBe(ACCEPTED);
        expect(await storedIds([e.id!])).toEqual([e.id]);
      });
    });

    it("keeps recognising a recorded event after its time has left the backfill window", async () => {
      const e = event({ time: ts("2026-03-15T11:00:00Z") });
      await h.ingest.record({ event: e });
      h.clock.advance(40 * 86_400_000);
      try {
        expect((await h.ingest.record({ event: e })).result?.status).toBe(DUPLICATE);
        expect((await failure(h.ingest.record({ event: { ...e, id: `${e.id}_new` } }))).field).toBe("event.time");
      } finally {
        h.clock.advance(-40 * 86_400_000);
      }
    });
  });

  describe("bad input: INVALID_ARGUMENT naming the field, nothing stored", () => {
    const long = (n: number) => "x".repeat(n);
    it.each<[string, (e: EventInit) => EventInit, string]>([
      ["missing id", (e) => ({ ...e, id: "" }), "event.id"],
      ["overlong id", (e) => ({ ...e, id: long(256) }), "event.id"],
      ["empty customer", (e) => ({ ...e, customerId: "" }), "event.customer_id"],
      ["event type no active meter reads", (e) => ({ ...e, eventType: "llm.complete" }), "event.event_type"],
      ["value a SUM meter needs is missing", (e) => ({ ...e, properties: { model: "m" } }), "event.properties[tokens]"],
      ["value is not a number", (e) => ({ ...e, properties: { tokens: "ten", model: "m" } }), "event.properties[tokens]"],
      ["NaN", (e) => ({ ...e, properties: { tokens: "NaN", model: "m" } }), "event.properties[tokens]"],
      ["Infinity", (e) => ({ ...e, properties: { tokens: "Infinity", model: "m" } }), "event.properties[tokens]"],
      ["more digits than NUMERIC(38,12)", (e) => ({ ...e, properties: { tokens: "1" + "0".repeat(26), model: "m" } }), "event.properties[tokens]"],
      ["more decimals than NUMERIC(38,12)", (e) => ({ ...e, properties: { tokens: "0.0000000000001", model: "m" } }), "event.properties[tokens]"],
      ["negative where the meter forbids it", (e) => ({ ...e, properties: { tokens: "-1", model: "m" } }), "event.properties[tokens]"],
      ["33 properties", (e) => ({ ...e, properties: Object.fromEntries([["tokens", "1"], ...Array.from({ length: 32 }, (_, i) => [`p${i}`, "v"])]) }), "event.properties"],
      ["an oversized property value", (e) => ({ ...e, properties: { tokens: "1", note: long(513) } }), "event.properties[note]"],
      ["an oversized property key", (e) => ({ ...e, properties: { tokens: "1", [long(65)]: "v" } }), `event.properties[${long(65)}]`],
      ["a malformed timestamp", (e) => ({ ...e, time: { seconds: 1_773_576_000n, nanos: 2_000_000_000 } }), "event.time"],
      ["a time 6 minutes in the future", (e) => ({ ...e, time: ts("2026-03-15T12:06:00Z") }), "event.time"],
      ["a time older than 35 days", (e) => ({ ...e, time: ts("2026-02-01T00:00:00Z") }), "event.time"],
    ])("%s", async (_, mutate, field) => {
      const before = await countRows(h, "events");
      const f = await failure(h.ingest.record({ event: mutate(event()) }));
      expect(f).toMatchObject({ code: Code.InvalidArgument, field });
      expect(f.message).toContain(field);
      expect(await countRows(h, "events")).toBe(before);
    });

    it("lists every problem in ErrorDetail, each with its field and code", async () => {
      const f = await failure(h.ingest.record({ event: event({ id: "", customerId: "", properties: { tokens: "1e3", model: "m" }, time: ts("2026-04-01T00:00:00Z") }) }));
      expect(f.reason).toBe("invalid_argument");
      expect(f.violations).toEqual(["event.id required", "event.customer_id required", "event.time in_future", "event.properties[tokens] invalid_decimal"]);
    });

    it("requires an event", async () => {
      expect(await failure(h.ingest.record({}))).toMatchObject({ code: Code.InvalidArgument, field: "event" });
    });

    it("allows negative values where the meter allows them", async () => {
      const e = event({ eventType: "credit.adjust", properties: { amount: "-25.50" } });
      expect((await h.ingest.record({ event: e })).result?.status).toBe(ACCEPTED);
    });
  });

  describe("RecordBatch", () => {
    it("gives each event its own result; one bad event does not fail the others", async () => {
      const stored = event();
      await h.ingest.record({ event: stored });
      const fresh = event();
      const events: EventInit[] = [
        fresh,
        stored, // recorded earlier: duplicate
        { ...stored, properties: { tokens: "999", model: "gpt-4o" } }, // conflict with the stored one
        event({ properties: { tokens: "lots", model: "m" } }), // rejected
        fresh, // same id twice in one batch: duplicate of the first
        { ...fresh, customerId: "someone_else" }, // same id, other content: conflict with the first
        event({ id: "" }),
      ];
      const res = await h.ingest.recordBatch({ events });
      expect(res.results.map((r) => [r.eventId, r.status, r.field, r.code])).toEqual([
        [fresh.id, ACCEPTED, "", ""],
        [stored.id, DUPLICATE, "", ""],
        [stored.id, CONFLICT, "", "idempotency_conflict"],
        [events[3]!.id, REJECTED, "events[3].properties[tokens]", "invalid_decimal"],
        [fresh.id, DUPLICATE, "", ""],
        [fresh.id, CONFLICT, "", "idempotency_conflict"],
        ["", REJECTED, "events[6].id", "required"],
      ]);
      expect(res.results[3]!.reason).toContain('"lots"');
      expect([res.acceptedCount, res.duplicateCount, res.conflictCount, res.rejectedCount]).toEqual([1, 2, 2, 2]);
      expect(await storedIds(events.map((e) => e.id!))).toEqual([fresh.id, stored.id].sort());
    });

    it("lets a later valid occurrence take an id whose first occurrence was rejected", async () => {
      const id = event().id;
      const res = await h.ingest.recordBatch({ events: [event({ id, properties: { model: "m" } }), event({ id })] });
      expect(res.results.map((r) => r.status)).toEqual([REJECTED, ACCEPTED]);
    });

    it("records 5,000 events in one call", async () => {
      const events = Array.from({ length: 5_000 }, () => event());
      const res = await h.ingest.recordBatch({ events });
      expect(res.acceptedCount).toBe(5_000);
      expect(await storedIds(events.map((e) => e.id!))).toHaveLength(5_000);
    });

    it("refuses more than 5,000 events as a whole (batch_too_large), storing nothing", async () => {
      const before = await countRows(h, "events");
      const f = await failure(h.ingest.recordBatch({ events: Array.from({ length: 5_001 }, () => event()) }));
      expect(f).toMatchObject({ code: Code.InvalidArgument, reason: "batch_too_large", field: "events" });
      expect(await countRows(h, "events")).toBe(before);
    });

    it("answers an empty batch with no results", async () => {
      expect((await h.ingest.recordBatch({ events: [] })).results).toEqual([]);
    });
  });

  describe("auth", () => {
    it("needs an API key", async () => {
      expect((await failure(h.client().record({ event: event() }))).code).toBe(Code.Unauthenticated);
      expect((await failure(h.client("not_a_real_key_0123456789").recordBatch({ events: [] }))).code).toBe(Code.Unauthenticated);
    });

    it("needs the ingest scope to record", async () => {
      expect((await failure(h.reader.record({ event: event() }))).code).toBe(Code.PermissionDenied);
      expect((await failure(h.admin.recordBatch({ events: [event()] }))).code).toBe(Code.PermissionDenied);
    });

    it("does not let an ingest key create, archive or read meters", async () => {
      const meter = { key: "sneaky", eventType: "x", aggregation: metering.Aggregation.COUNT };
      expect(await failure(h.ingest.createMeter({ meter }))).toMatchObject({ code: Code.PermissionDenied, reason: "missing_scope" });
      expect((await failure(h.ingest.archiveMeter({ key: "llm_calls" }))).code).toBe(Code.PermissionDenied);
      expect((await failure(h.ingest.queryUsage({ customerId: "c", meterKey: "llm_calls" }))).code).toBe(Code.PermissionDenied);
      expect((await h.admin.getMeter({ key: "llm_calls" })).meter?.state).toBe(metering.MeterState.ACTIVE);
    });
  });
});

import { Code } from "@connectrpc/connect";
import { metering } from "@tally/contracts";
import { failure, foldRollups, startMetering, type EventInit, type MeteringHarness } from "../testing/metering-harness";

const { ACCEPTED, DUPLICATE } = metering.EventStatus;

/**
 * Concurrent group commits take turns for their writes (IngestService.flush). These check that
 * the turn never loses or doubles an event and that a failed transaction passes it on.
 */
describe("ingest: concurrent transactions taking turns to write", () => {
  let h: MeteringHarness;

  beforeAll(async () => {
    // Small transactions and several at once, so that many of them wait for a turn.
    h = await startMetering({ settings: { maxEventsPerTransaction: 50, concurrentTransactions: 4 } });
    await h.admin.createMeter({ meter: { key: "llm_tokens", eventType: "llm.completion", aggregation: metering.Aggregation.SUM, valueProperty: "tokens", groupBy: ["model"] } });
    // Any event whose id starts with "boom" makes its transaction fail in the database.
    await h.service.deps.pool.query(`
      CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.event_id LIKE 'boom%' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER boom BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION boom();`);
  });
  afterAll(() => h.close());

  const event = (id: string, tokens = "10"): EventInit => ({ id, customerId: "cust_1", eventType: "llm.completion", properties: { tokens, model: "m" } });

  async function tokens(): Promise<string> {
    await foldRollups(h);
    const { rows } = await h.service.deps.pool.query<{ sum: string | null }>("SELECT sum(value_sum)::text AS sum FROM usage_rollup WHERE meter_key = 'llm_tokens'");
    return rows[0]?.sum ?? "0";
  }

  it("records overlapping batches exactly once each, rollups included", async () => {
    const before = BigInt(await tokens());
    // 20 batches of 40 over 400 ids: every id is sent twice, by different batches.
    const batches = Array.from({ length: 20 }, (_, b) => Array.from({ length: 40 }, (_, k) => event(`overlap_${(b * 20 + k) % 400}`)));
    const responses = await Promise.all(batches.map((events) => h.ingest.recordBatch({ events })));
    const statuses = responses.flatMap((r) => r.results.map((x) => x.status));
    expect(statuses.filter((s) => s === ACCEPTED)).toHaveLength(400);
    expect(statuses.filter((s) => s === DUPLICATE)).toHaveLength(400);
    const { rows } = await h.service.deps.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE event_id LIKE 'overlap_%'");
    expect(rows[0]!.n).toBe(400);
    expect(BigInt(await tokens()) - before).toBe(4_000n);
  });

  it("passes the turn on after a failed transaction: the others still commit, nothing waits forever", async () => {
    const before = BigInt(await tokens());
    const good = Array.from({ length: 12 }, (_, b) => Array.from({ length: 30 }, (_, k) => event(`after_boom_${b}_${k}`)));
    const calls = [
      h.ingest.recordBatch({ events: [event("boom_1")] }),
      ...good.map((events) => h.ingest.recordBatch({ events })),
      h.ingest.recordBatch({ events: [event("boom_2"), event("boom_3")] }),
    ];
    const settled = await Promise.allSettled(calls);
    expect(settled.filter((s) => s.status === "fulfilled")).toHaveLength(good.length);
    for (const s of settled) if (s.status === "fulfilled") expect(s.value.acceptedCount).toBe(30);
    expect((await failure(h.ingest.recordBatch({ events: [event("boom_4")] }))).code).toBe(Code.Unavailable);
    expect((await h.ingest.recordBatch({ events: [event("after_boom_last")] })).acceptedCount).toBe(1);
    expect(BigInt(await tokens()) - before).toBe(BigInt(good.length * 30 * 10 + 10));
  });
});

describe("ingest: rollups left pending or written at once", () => {
  let h: MeteringHarness;
  const T = Date.parse("2026-03-15T11:00:00Z");
  const at = (minute: number) => ({ seconds: BigInt((T + minute * 60_000) / 1000), nanos: 0 });

  beforeAll(async () => {
    // A transaction with 4 rollup rows or more upserts them itself; a fold every 10 minutes (never here).
    h = await startMetering({ settings: { directRollupRows: 4, rollupFoldMs: 600_000 } });
    await h.admin.createMeter({ meter: { key: "calls", eventType: "api.call", aggregation: metering.Aggregation.COUNT } });
  });
  afterAll(() => h.close());

  const rows = async (table: "usage_rollup" | "rollup_pending") =>
    (await h.service.deps.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
  const calls = (id: string, minute: number) => ({ id, customerId: "cust_1", eventType: "api.call", time: at(minute), properties: {} });

  it("leaves a transaction's few rollup rows pending, writes many at once, and QueryUsage counts both", async () => {
    await h.ingest.recordBatch({ events: [calls("few_1", 0), calls("few_2", 1)] }); // 2 rows: pending
    expect(await rows("rollup_pending")).toBe(1);
    expect(await rows("usage_rollup")).toBe(0);
    await h.ingest.recordBatch({ events: [0, 1, 2, 3, 4].map((m) => calls(`many_${m}`, m + 10)) }); // 5 rows: at once
    expect(await rows("rollup_pending")).toBe(1);
    expect(await rows("usage_rollup")).toBe(5);
    const res = await h.reader.queryUsage({ meterKey: "calls", customerId: "cust_1", from: at(-1), to: at(30) });
    expect(res.rows.map((r) => r.value)).toEqual(["7"]); // 2 pending + 5 written, folded by the query
    expect(await rows("rollup_pending")).toBe(0);
  });
});

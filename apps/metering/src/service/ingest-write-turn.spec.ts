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

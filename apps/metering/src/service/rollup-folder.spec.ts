import { createLogger, createPool, migrate, readMigrations, type Pool } from "@tally/platform";
import { createTestDatabase, type TestDatabase } from "@tally/platform/testing";
import { Decimal } from "@tally/pricing";
import { insertPendingRollups } from "../adapter/rollup-store";
import type { RollupDelta, UniqueValue } from "../domain/rollup";
import { MIGRATIONS_DIR } from "../metering-service";
import { eventually } from "../testing/metering-harness";
import { RollupFolder } from "./rollup-folder";

/**
 * Pending rollups (migration 003) reach usage_rollup exactly once, whoever folds them: the
 * instance that wrote them (from memory), another one or a restarted process (from Postgres).
 */
describe("RollupFolder", () => {
  let db: TestDatabase;
  let pool: Pool;
  const logger = createLogger({}, "silent");
  const bucket = new Date("2026-03-15T12:00:00Z");
  const REC = new Date("2026-03-15T12:10:00Z");

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url, "metering");
    await migrate(pool, "metering", readMigrations(MIGRATIONS_DIR));
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  const delta = (meterKey: string, customerId: string, over: Partial<RollupDelta>): RollupDelta => ({
    meterKey,
    customerId,
    bucketStart: bucket,
    groupKey: "[]",
    eventCount: 1,
    valueSum: undefined,
    valueMax: undefined,
    latest: undefined,
    ...over,
  });
  const uv = (meterKey: string, value: string): UniqueValue => ({ meterKey, customerId: "c1", bucketStart: bucket, groupKey: "[]", value });

  /** What a committed ingest transaction leaves: a pending row, and optionally the folder told of it. */
  async function pendingRow(deltas: RollupDelta[], values: UniqueValue[] = [], folder?: RollupFolder): Promise<void> {
    const id = await insertPendingRollups(pool, deltas, values);
    if (folder && id) folder.committed(id, deltas, values);
  }

  async function rollup(meterKey: string, customerId: string) {
    const { rows } = await pool.query(
      `SELECT event_count::int AS n, value_sum::text AS sum, value_max::text AS max, latest_value::text AS latest, latest_event_id AS latest_id
       FROM metering.usage_rollup WHERE meter_key = $1 AND customer_id = $2`,
      [meterKey, customerId],
    );
    return rows[0];
  }
  const pendingCount = async () => Number((await pool.query("SELECT count(*) AS n FROM metering.rollup_pending")).rows[0].n);

  it("adds held and read-back rows alike, merging them as the upsert would", async () => {
    const folder = new RollupFolder({ pool, logger });
    // Held in memory by this instance:
    await pendingRow([delta("tokens", "c1", { eventCount: 2, valueSum: new Decimal("10.5") })], [], folder);
    // Left by another instance or a crashed process (only in Postgres):
    await pendingRow([delta("tokens", "c1", { eventCount: 1, valueSum: new Decimal("0.000000000001") })]);
    await pendingRow([
      delta("peak", "c1", { valueMax: new Decimal("7") }),
      delta("last", "c1", { latest: { time: new Date("2026-03-15T12:00:30Z"), recordTime: REC, eventId: "b", value: new Decimal("2") } }),
    ]);
    await pendingRow(
      [
        delta("peak", "c1", { valueMax: new Decimal("3") }),
        // Same time and record time: the greater id (byte-wise) is the latest.
        delta("last", "c1", { latest: { time: new Date("2026-03-15T12:00:30Z"), recordTime: REC, eventId: "a", value: new Decimal("9") } }),
      ],
      [uv("users", "u1"), uv("users", "u2")],
      folder,
    );
    await pendingRow([], [uv("users", "u1")]);

    await folder.foldNow();

    expect(await rollup("tokens", "c1")).toMatchObject({ n: 3, sum: "10.500000000001" }); // 10.5 + 0.000000000001
    expect(await rollup("peak", "c1")).toMatchObject({ n: 2, max: "7.000000000000" });
    expect(await rollup("last", "c1")).toMatchObject({ n: 2, latest: "2.000000000000", latest_id: "b" });
    const { rows } = await pool.query("SELECT value FROM metering.usage_unique_values WHERE meter_key = 'users' ORDER BY value");
    expect(rows.map((r) => r.value)).toEqual(["u1", "u2"]);
    expect(await pendingCount()).toBe(0);
  });

  it("adds each pending row once when instances fold at the same time, and adds to stored rows", async () => {
    const a = new RollupFolder({ pool, logger });
    const b = new RollupFolder({ pool, logger });
    for (let i = 0; i < 20; i++) await pendingRow([delta("calls", "c2", { eventCount: 5 })], [], i % 2 === 0 ? a : b);
    await Promise.all([a.foldNow(), b.foldNow(), a.foldNow(), b.foldNow()]);
    for (let i = 0; i < 10; i++) await pendingRow([delta("calls", "c2", { eventCount: 1 })], [], a);
    await Promise.all([a.foldNow(), b.foldNow()]);
    expect(await rollup("calls", "c2")).toMatchObject({ n: 110 }); // 20 × 5 + 10 × 1
    expect(await pendingCount()).toBe(0);
  });

  it("leaves the rows pending when a fold fails, and the next fold adds them once", async () => {
    const folder = new RollupFolder({ pool, logger });
    await pendingRow([delta("flaky", "c3", { eventCount: 4 })], [], folder);
    await pendingRow([delta("flaky", "c3", { eventCount: 20 })]); // another instance's, read back
    await pool.query(`
      CREATE FUNCTION metering.no_flaky() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.meter_key = 'flaky' THEN RAISE EXCEPTION 'no flaky'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER no_flaky BEFORE INSERT ON metering.usage_rollup FOR EACH ROW EXECUTE FUNCTION metering.no_flaky();`);
    await expect(folder.foldNow()).rejects.toThrow("no flaky");
    expect(await pendingCount()).toBe(2);
    await pool.query("DROP TRIGGER no_flaky ON metering.usage_rollup");
    await pendingRow([delta("flaky", "c3", { eventCount: 1 })], [], folder);
    await folder.foldNow();
    expect(await rollup("flaky", "c3")).toMatchObject({ n: 25 }); // 4 + 20 + 1, each once
    expect(await pendingCount()).toBe(0);
  });

  it("folds at once, before the interval, when it holds foldAtRows rows", async () => {
    const folder = new RollupFolder({ pool, logger, foldAtRows: 3 });
    await pendingRow([delta("wide", "c5", { bucketStart: new Date("2026-03-15T12:01:00Z") }), delta("wide", "c5", { bucketStart: new Date("2026-03-15T12:02:00Z") })], [], folder);
    expect(await pendingCount()).toBe(1); // 2 rows held: no fold (none was started)
    await pendingRow([delta("wide", "c5", { bucketStart: new Date("2026-03-15T12:03:00Z") })], [], folder);
    await eventually(async () => (await pendingCount()) === 0);
    const { rows } = await pool.query("SELECT count(*)::int AS n FROM metering.usage_rollup WHERE meter_key = 'wide'");
    expect(rows[0].n).toBe(3);
  });

  it("folds in the background from start, a previous process's rows included", async () => {
    await pendingRow([delta("boot", "c4", { eventCount: 3 })]);
    const folder = new RollupFolder({ pool, logger, intervalMs: 10 });
    folder.start();
    try {
      await eventually(async () => (await pendingCount()) === 0, 10_000);
    } finally {
      await folder.stop();
    }
    expect(await rollup("boot", "c4")).toMatchObject({ n: 3 });
  });
});

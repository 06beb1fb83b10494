import { pgErrorCode, type Pool } from "@tally/platform";
import { ManualClock } from "@tally/platform/testing";
import { cappedCustomersDatabase, type CappedCustomersDatabase } from "../testing/capped-customers";
import { CheckService } from "./check-service";

/**
 * Issue 11 §4: a failure in a shared batch fails only the callers it concerns. Five reserving
 * Checks of five customers arrive together and share one batch of holds (one call of
 * reserve_many_if_unchanged); a trigger (fault injection, as in metering's ingest-write-turn.spec)
 * makes one customer's hold fail inside Postgres. That caller gets the error; the four others get
 * their holds, which exist; the failing customer holds nothing.
 */
describe("a failing caller in a shared batch of holds (real Postgres)", () => {
  const CUSTOMERS = ["c-ok-1", "c-ok-2", "c-bad", "c-ok-3", "c-ok-4"];
  let seeded: CappedCustomersDatabase;
  let pool: Pool;

  beforeAll(async () => {
    seeded = await cappedCustomersDatabase(CUSTOMERS, { used: 0, cap: 100 });
    pool = seeded.pool;
    await pool.query(`
      CREATE FUNCTION refuse_c_bad() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.customer_id = 'c-bad' THEN RAISE EXCEPTION 'hold of c-bad refused' USING ERRCODE = 'check_violation'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER refuse_c_bad BEFORE INSERT ON reservations FOR EACH ROW EXECUTE FUNCTION refuse_c_bad();`);
  }, 30_000);

  afterAll(async () => {
    await seeded?.close();
  });

  it("fails only the caller whose hold failed; the others of the same batch get their holds", async () => {
    const checks = new CheckService(pool, new ManualClock("2026-01-10T00:00:00Z"));
    // Learns the meter (one lookup, then cached), so that the five Checks below reach their reads, and then their holds, together.
    await checks.check({ customerId: "c-ok-1", meterKey: "tokens", quantity: "0", reserve: false, reservationTtlMs: undefined, idempotencyKey: "" });
    const batches: number[] = [];
    const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
    jest.spyOn(pool, "query").mockImplementation(((config: { name?: string; values?: unknown[][] }, ...rest: unknown[]) => {
      if (typeof config === "object" && config.name === "limits-reserve-many") batches.push(config.values![0]!.length);
      return query(config, ...rest);
    }) as unknown as typeof pool.query);
    const settled = await Promise.allSettled(
      CUSTOMERS.map((customerId) => checks.check({ customerId, meterKey: "tokens", quantity: "1", reserve: true, reservationTtlMs: 60_000, idempotencyKey: "" })),
    );
    jest.restoreAllMocks();

    // One shared batch of all five, then split in halves (3 and 2, then 1 and 2, ...) until c-bad fails alone.
    expect(batches[0]).toBe(CUSTOMERS.length);
    const bad = settled[CUSTOMERS.indexOf("c-bad")]!;
    expect(bad.status).toBe("rejected");
    expect(pgErrorCode((bad as PromiseRejectedResult).reason)).toBe("23514");
    const ok = settled.filter((_, i) => CUSTOMERS[i] !== "c-bad");
    expect(ok.map((s) => s.status === "fulfilled" && s.value.allowed)).toEqual([true, true, true, true]);
    const { rows } = await pool.query<{ customer_id: string; reservation_id: string }>("SELECT customer_id, reservation_id FROM reservations ORDER BY customer_id");
    expect(rows.map((r) => r.customer_id)).toEqual(["c-ok-1", "c-ok-2", "c-ok-3", "c-ok-4"]);
    expect(new Set(rows.map((r) => r.reservation_id))).toEqual(new Set(ok.map((s) => (s as PromiseFulfilledResult<{ reservationId: string }>).value.reservationId)));
  }, 30_000);
});

import { createPool, migrate, type Pool } from "@tally/platform";
import { ManualClock } from "@tally/platform/testing";
import { limitsService } from "../limits-service";
import { startPrivatePostgres, type PrivatePostgres } from "../testing/private-postgres";
import { OverloadedError } from "./check-admission";
import { CheckService, type CheckOutcome } from "./check-service";

/**
 * A hold reported to its caller survives a database crash, so the room it
 * took is never granted again (issue: 906 holds for a room of 900 after a
 * crash, when holds committed with synchronous_commit off). Runs on a private
 * cluster that the test crashes (`pg_ctl stop -m immediate`: no checkpoint,
 * no WAL flush) and restarts. The WAL writer is slowed to its maximum delay so
 * that a commit that did not wait for its flush would stay in memory, and be
 * lost, for seconds.
 */
describe("holds survive a Postgres crash (private cluster)", () => {
  const ROOM = 900;
  let pg: PrivatePostgres;
  let pool: Pool | undefined;
  const clock = new ManualClock("2026-01-10T00:00:00Z");

  beforeAll(async () => {
    pg = await startPrivatePostgres({ wal_writer_delay: "10000ms", wal_writer_flush_after: "1GB" });
    pool = createPool(pg.url, "limits");
    await migrate(pool, "limits", limitsService.migrations);
    await pool.query(`INSERT INTO known_meters (meter_key) VALUES ('tokens');
      INSERT INTO customers (customer_id, subscription_id, plan_key, plan_version, status, period_start, period_end, revision)
        VALUES ('c-crash', 'sub-1', 'pro', 1, 'active', '2026-01-01Z', '2026-02-01Z', 1);
      INSERT INTO limits (limit_id, customer_id, meter_key, kind, measure, value, currency, alerts)
        VALUES ('lim-1', 'c-crash', 'tokens', 'hard_cap', 'units', ${ROOM}, '', '[]');`);
  }, 120_000);

  afterAll(async () => {
    await pool?.end().catch(() => undefined);
    await pg?.destroy();
  });

  /** `callers` reserving Checks for 1 unit each, in waves of 50 concurrent ones (batched, as under load); the allowed answers. */
  async function race(checks: CheckService, callers: number): Promise<CheckOutcome[]> {
    const allowed: CheckOutcome[] = [];
    for (let i = 0; i < callers; i += 50) {
      const wave = await Promise.all(
        Array.from({ length: Math.min(50, callers - i) }, () =>
          retryWhileOverloaded(() =>
            checks.check({ customerId: "c-crash", meterKey: "tokens", quantity: "1", reserve: true, reservationTtlMs: 3_600_000, idempotencyKey: "" }),
          ),
        ),
      );
      allowed.push(...wave.filter((o) => o.allowed));
    }
    return allowed;
  }

  /**
   * As a client does with RESOURCE_EXHAUSTED `overloaded` (nothing was held): retry with backoff.
   * On busy cores the first wave's cold connections can keep Checks queued past MAX_QUEUE_WAIT_MS;
   * shedding is not what this test is about (check-overload.spec.ts is), so a shed Check is asked again.
   */
  async function retryWhileOverloaded(check: () => Promise<CheckOutcome>): Promise<CheckOutcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await check();
      } catch (err) {
        if (!(err instanceof OverloadedError) || attempt === 20) throw err;
        await new Promise((resolve) => setTimeout(resolve, 10 * attempt));
      }
    }
  }

  async function heldIds(): Promise<Set<string>> {
    const { rows } = await pool!.query<{ reservation_id: string }>("SELECT reservation_id FROM reservations WHERE customer_id = 'c-crash' AND status = 'active'");
    return new Set(rows.map((r) => r.reservation_id));
  }

  it("keeps every hold it reported, and never grants the room twice", async () => {
    const before = await race(new CheckService(pool!, clock), 600);
    expect(before.length).toBe(600);
    // Crash at once, within the WAL writer's delay of the last reported hold.
    await pg.crash();
    await pool!.end().catch(() => undefined);
    await pg.start();
    pool = createPool(pg.url, "limits");

    const survived = await heldIds();
    const lost = before.filter((o) => !survived.has(o.reservationId));
    expect(lost).toEqual([]);

    // 600 more callers race for the 300 units left: exactly 300 get a hold.
    const after = await race(new CheckService(pool, clock), 600);
    expect(after.length).toBe(ROOM - before.length);
    const { rows } = await pool.query<{ held: string }>("SELECT sum(quantity)::int AS held FROM reservations WHERE customer_id = 'c-crash' AND status = 'active'");
    expect(Number(rows[0]!.held)).toBe(ROOM);
  }, 120_000);
});

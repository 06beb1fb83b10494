import type { Pool } from "@tally/platform";
import { ManualClock } from "@tally/platform/testing";
import { cappedCustomersDatabase, type CappedCustomersDatabase } from "../testing/capped-customers";
import { OverloadedError } from "./check-admission";
import { CheckService } from "./check-service";

/**
 * Zero overshoot at the bench's reserving rate: 1,000 reserving Checks/s for
 * 2 s, spread over 20 customers whose hard caps leave 50 units each (room
 * for half the calls), through the real batching (group commit, fast and
 * slow paths) on the real Postgres. Whatever the batching and the load
 * shedding do, no customer holds more than its room, every hold reported to
 * a caller exists, and nothing else is held.
 */
describe("reserving Checks at full rate (real Postgres)", () => {
  const CUSTOMERS = Array.from({ length: 20 }, (_, i) => `c-rate-${i}`);
  const ROOM = 50;
  let seeded: CappedCustomersDatabase;
  let pool: Pool;

  beforeAll(async () => {
    seeded = await cappedCustomersDatabase(CUSTOMERS, { used: 100, cap: 100 + ROOM });
    pool = seeded.pool;
  }, 30_000);

  afterAll(async () => {
    await seeded?.close();
  });

  it("never holds more than the room, and every reported hold exists", async () => {
    const checks = new CheckService(pool, new ManualClock("2026-01-10T00:00:00Z"));
    const RATE = 1000;
    const TOTAL = 2000;
    const answers: Promise<{ customerId: string; reservationId: string } | "denied" | "shed">[] = [];
    const start = performance.now();
    while (answers.length < TOTAL) {
      const due = Math.min(TOTAL, Math.floor(((performance.now() - start) / 1000) * RATE));
      for (let i = answers.length; i < due; i++) {
        const customerId = CUSTOMERS[i % CUSTOMERS.length]!;
        answers.push(
          checks
            .check({ customerId, meterKey: "tokens", quantity: "1", reserve: true, reservationTtlMs: 60_000, idempotencyKey: "" })
            .then(
              (o) => (o.allowed ? { customerId, reservationId: o.reservationId } : ("denied" as const)),
              (err: unknown) => {
                if (err instanceof OverloadedError) return "shed" as const;
                throw err;
              },
            ),
        );
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    const settled = await Promise.all(answers);
    const reported = settled.flatMap((a) => (typeof a === "object" ? [a] : []));
    const { rows } = await pool.query<{ customer_id: string; reservation_id: string }>("SELECT customer_id, reservation_id FROM reservations WHERE status = 'active'");
    const held = new Map<string, number>();
    for (const r of rows) held.set(r.customer_id, (held.get(r.customer_id) ?? 0) + 1);
    for (const c of CUSTOMERS) expect(held.get(c) ?? 0).toBeLessThanOrEqual(ROOM);
    // Every hold is one a caller was told about, and the other way round.
    expect(new Set(rows.map((r) => r.reservation_id))).toEqual(new Set(reported.map((r) => r.reservationId)));
    // Unless calls were shed, the room was all used: allowed exactly up to each cap.
    if (!settled.includes("shed")) expect(rows.length).toBe(CUSTOMERS.length * ROOM);
  }, 60_000);
});

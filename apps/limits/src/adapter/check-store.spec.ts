import { createPool, migrate, type Pool } from "@tally/platform";
import { createTestDatabase, type TestDatabase } from "@tally/platform/testing";
import { limitsService } from "../limits-service";
import { readCheckContexts } from "./check-store";

/** readCheckContexts parses rows sent as text, and returns a previous context again when its row is unchanged. */
describe("readCheckContexts (real Postgres)", () => {
  let db: TestDatabase;
  let pool: Pool;
  const now = new Date("2026-01-10T00:00:00Z");
  const since = new Date("2026-01-09T00:00:00Z");
  const reqs = [
    { customerId: "c-1", meterKey: "tokens", idempotencyKey: "" },
    { customerId: "c-none", meterKey: "tokens", idempotencyKey: "" },
  ];

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url, "limits");
    await migrate(pool, "limits", limitsService.migrations);
    await pool.query(`INSERT INTO customers (customer_id, subscription_id, plan_key, plan_version, status, period_start, period_end, revision, prepaid_only)
        VALUES ('c-1', 'sub-1', 'pro', 3, 'active', '2026-01-01Z', '2026-02-01Z', 7, false);
      INSERT INTO meter_usage (customer_id, meter_key, period_start, quantity, spend) VALUES ('c-1', 'tokens', '2026-01-01Z', 12.5, 0.25);
      INSERT INTO limits (limit_id, plan_key, meter_key, kind, measure, value, currency, alerts)
        VALUES ('lim-1', 'pro', 'tokens', 'hard_cap', 'units', 100, '', '[{"percent": "80"}]');`);
  }, 30_000);

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it("parses every column as the default parsers would", async () => {
    const [c1, none] = await readCheckContexts(pool, reqs, now, since);
    expect(c1!.customer).toEqual({
      customerId: "c-1",
      subscriptionId: "sub-1",
      planKey: "pro",
      planVersion: 3,
      status: "active",
      period: { start: new Date("2026-01-01Z"), end: new Date("2026-02-01Z") },
      revision: 7n,
      prepaidOnly: false,
      depleted: false,
    });
    expect(c1!.units.toFixed()).toBe("12.5");
    expect(c1!.meterSpend.toFixed()).toBe("0.25");
    expect(c1!.limits.map((l) => [l.id, l.value.toFixed(), l.alerts.map((a) => ("percent" in a ? a.percent.toFixed() : ""))])).toEqual([["lim-1", "100", ["80"]]]);
    expect(c1!.previous).toBeUndefined();
    expect(none!.customer).toBeUndefined();
  });

  it("returns the previous context when the row is unchanged, and a new one when it changed", async () => {
    const first = await readCheckContexts(pool, reqs, now, since);
    // Same rows, other positions in the batch: still reused (ord is not part of the row's text).
    const again = await readCheckContexts(pool, [reqs[1]!, reqs[0]!], now, since, [first[1], first[0]]);
    expect(again[0]).toBe(first[1]);
    expect(again[1]).toBe(first[0]);
    await pool.query("UPDATE meter_usage SET quantity = 13 WHERE customer_id = 'c-1'");
    const changed = await readCheckContexts(pool, reqs, now, since, first);
    expect(changed[0]).not.toBe(first[0]);
    expect(changed[0]!.units.toFixed()).toBe("13");
    expect(changed[1]).toBe(first[1]);
  });
});

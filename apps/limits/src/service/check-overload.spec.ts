import * as grpc from "@grpc/grpc-js";
import { createPool, startService, type Pool, type PoolClient, type RunningService } from "@tally/platform";
import { createTestEnvironment, scrapeMetric, TEST_KEYS, type TestEnvironment } from "@tally/platform/testing";
import { createLimitsClient } from "../../bench/load-generator";
import { limitsService } from "../limits-service";
import { eventually, RatingEvents } from "../testing/rating-events";
import { checksShed, LOCK_WAIT_MS, MAX_QUEUE_WAIT_MS } from "./check-admission";

/**
 * Overload: more reserving Checks than limits can serve. The database is made
 * the bottleneck on purpose — a test transaction holds the row lock every
 * hold of the key must take — while a grpc-js client keeps sending. Limits
 * must refuse each Check with RESOURCE_EXHAUSTED (nothing held) within about
 * LOCK_WAIT_MS, long before the caller's deadline, counted in
 * `checksShed`, rather than queue it until the client gives up (and cancels
 * it with an HTTP/2 RST_STREAM: see the README, "Overload"); never INTERNAL.
 */
describe("Check under overload (real gRPC and Postgres)", () => {
  let env: TestEnvironment;
  let running: RunningService;
  let pool: Pool;
  const CAP = 100;

  beforeAll(async () => {
    env = await createTestEnvironment();
    running = await startService(limitsService, env.config("limits"));
    pool = createPool(env.database.url, "limits");
    const events = new RatingEvents(env.bus);
    const period = { periodStart: "2026-01-01T00:00:00Z", periodEnd: "2099-01-01T00:00:00Z" };
    await events.plan("pro", "USD", [{ key: "tokens", meterKey: "tokens", unitAmount: "0.01" }]);
    await events.subscription({ customerId: "c-hot", planKey: "pro", ...period, revision: 1 });
    await events.rated([{ customerId: "c-hot", meterKey: "tokens", quantity: "1", amount: "0.01", sequence: 1, ...period }]);
    await eventually(async () => (await pool.query("SELECT 1 FROM meter_usage WHERE customer_id = 'c-hot'")).rowCount === 1, "usage of c-hot");
    await pool.query(`INSERT INTO limits (limit_id, customer_id, meter_key, kind, measure, value, currency, alerts)
      VALUES ('lim-hot', 'c-hot', 'tokens', 'hard_cap', 'units', ${CAP}, '', '[]')`);
  }, 30_000);

  afterAll(async () => {
    await pool?.end();
    await running?.stop();
    await env?.close();
  }, 30_000);

  it("refuses with RESOURCE_EXHAUSTED well within the deadline, counts it, holds nothing, never INTERNAL", async () => {
    const locker: PoolClient = await pool.connect();
    await locker.query("BEGIN");
    await locker.query("SELECT 1 FROM meter_usage WHERE customer_id = 'c-hot' FOR UPDATE");
    const { client, check } = createLimitsClient(running.address);
    const md = new grpc.Metadata();
    md.set("authorization", `Bearer ${TEST_KEYS.all}`);
    const codes: Record<string, number> = {};
    const shedLatencies: number[] = [];
    // Generous, so that a CPU-starved run still shows the service refusing on its own bounds
    // (queue wait, lock wait: server time) rather than the caller's clock running out.
    const DEADLINE_MS = 20_000;
    const shedBefore = checksShed.count;
    const shedMetricBefore = await scrapeMetric(running, "tally_limits_checks_total", { decision: "shed" });
    const RATE = 30;
    const TOTAL = 150;
    try {
      await new Promise<void>((resolve) => {
        let sent = 0;
        let done = 0;
        const start = performance.now();
        const tick = () => {
          const due = Math.min(TOTAL, Math.floor(((performance.now() - start) / 1000) * RATE));
          for (; sent < due; sent++) {
            const at = performance.now();
            check({ customerId: "c-hot", meterKey: "tokens", quantity: "1", reserve: true }, md, { deadline: Date.now() + DEADLINE_MS }, (err) => {
              const code = grpc.status[err ? err.code : grpc.status.OK];
              codes[code] = (codes[code] ?? 0) + 1;
              if (err?.code === grpc.status.RESOURCE_EXHAUSTED) shedLatencies.push(performance.now() - at);
              if (++done === TOTAL) resolve();
            });
          }
          if (sent < TOTAL) setTimeout(tick, 2);
        };
        tick();
      });
    } finally {
      await locker.query("ROLLBACK");
      locker.release();
      client.close();
    }
    expect(codes).toEqual({ RESOURCE_EXHAUSTED: TOTAL });
    expect(checksShed.count - shedBefore).toBe(TOTAL);
    expect((await scrapeMetric(running, "tally_limits_checks_total", { decision: "shed" })) - shedMetricBefore).toBe(TOTAL);
    shedLatencies.sort((a, b) => a - b);
    // Every call was answered before its deadline (above), typically after about MAX_QUEUE_WAIT_MS (queued) or
    // LOCK_WAIT_MS (on the lock). The bound is loose on purpose: on a busy box this process itself waits for a core.
    expect(shedLatencies[Math.floor(shedLatencies.length / 2)]!).toBeLessThan(Math.max(MAX_QUEUE_WAIT_MS + LOCK_WAIT_MS + 1000, DEADLINE_MS / 4));
    // Nothing was held by a refused Check.
    const { rows } = await pool.query<{ n: string }>("SELECT count(*)::text AS n FROM reservations WHERE customer_id = 'c-hot'");
    expect(rows[0]!.n).toBe("0");
  }, 60_000);
});

/**
 * ForecastRevenue over many subscriptions (#15: 10,000 in under 2 s).
 *
 * Seeds, straight into rating's tables (as rating would have written them): SUBSCRIPTIONS
 * calendar-monthly UTC subscriptions on three USD plans (graduated, volume, per unit + fee),
 * started Sep 1 2026, with daily usage (a level per customer, a weekday shape, a trend, noise)
 * from then to the forecast instant, Dec 10 2026 12:00 UTC, and each period's rated quantity.
 * Then times ForecastRevenue for the window January 2027, UTC (each subscription's open December
 * period is billed in it): the first call, then RUNS calls each after CHANGED (5 %) of the
 * subscriptions got new usage, then RUNS calls with nothing changed. Projections are the
 * refresher's background work (billing_projection): before the first call, the cold refresh of
 * every subscription (as at service start); after new usage, the refresh of the touched
 * customers' billings (as the rating consumer triggers it). Their times are printed as
 * "background" rows, apart from the calls. Also timed: a call with nothing stored yet (right
 * after the first deployment: it projects RATING_FORECAST_INLINE_MAX billings and says how many
 * it left out), and calls just after a day boundary (the clock moved past midnight, called at
 * once, before the refresher has replaced a row: every row is summed as of its as_of), with and
 * without new usage since;
 * next to a do-nothing baseline measured in the same run (GetPlan of a cached plan: one round
 * trip, no work) and the ratio of the two, and the CPU time of the median call.
 *
 *   npm run bench:revenue        env: SUBSCRIPTIONS (10000), RUNS (3), CHANGED (0.05)
 */
import { ManualClock } from "@tally/platform/testing";
import { createTestEnvironment } from "@tally/platform/testing";
import { loadavg } from "node:os";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { rating } from "@tally/contracts";
import { AGG, planInput, publishMeter, startRating, waitForMeters } from "../src/testing/rating-test-kit";

const SUBSCRIPTIONS = Number(process.env.SUBSCRIPTIONS ?? 10_000);
const RUNS = Number(process.env.RUNS ?? 3);
const NOW = "2026-12-10T12:00:00Z";
const TARGET_MS = 2_000;
/** Share of subscriptions given new usage before each call of the "some changed" row. */
const CHANGED = Number(process.env.CHANGED ?? 0.05);

async function main(): Promise<void> {
  const env = await createTestEnvironment();
  const clock = new ManualClock(NOW);
  // No periodic sweep during the bench: each background refresh is triggered and timed here.
  const svc = await startRating(env, clock, { advanceIntervalMs: 3_600_000, projectionRefreshMs: 3_600_000 });
  const refresher = svc.internals.refresher;
  try {
    await publishMeter(env, "tokens", AGG.SUM);
    await waitForMeters(svc, ["tokens"]);
    const price = (model: MessageInitShape<typeof rating.PriceSchema>["model"]) => ({ key: "tok", meterKey: "tokens", displayName: "Tokens", pricing: { case: "price" as const, value: { model } } });
    await svc.client.createPlan({ plan: planInput("graduated", [price({ case: "graduated", value: { tiers: [{ upTo: "1000", unitAmount: "0.01" }, { unitAmount: "0.005" }] } })]) });
    await svc.client.createPlan({ plan: planInput("volume", [price({ case: "volume", value: { tiers: [{ upTo: "3000", unitAmount: "0.10" }, { unitAmount: "0.05" }] } })]) });
    await svc.client.createPlan({ plan: planInput("unit", [price({ case: "perUnit", value: { unitAmount: "0.002" } })], { recurringFee: { amount: "50", timing: rating.FeeTiming.IN_ARREARS } }) });

    const db = svc.running.deps.pool;
    const t0 = performance.now();
    await seed(db);
    console.log(`seeded ${SUBSCRIPTIONS} subscriptions in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const january = { currency: "USD", window: { kind: rating.CalendarWindowKind.MONTH, year: 2027, month: 1, timeZone: "UTC" } };
    const rows: string[][] = [];
    const baseline = await timeCalls(RUNS, () => svc.client.getPlan({ key: "unit", version: 1 }));
    rows.push(["do-nothing baseline (GetPlan)", ...baseline.cells, "1×", ""]);
    const measure = async (name: string, runs: number, before: () => Promise<unknown>, target: boolean) => {
      let last: rating.ForecastRevenueResponse | undefined;
      const onRequest = svc.internals.forecaster.stats.projectedOnRequest;
      const t = await timeCalls(runs, async () => (last = await svc.client.forecastRevenue(january)), before);
      const projected = svc.internals.forecaster.stats.projectedOnRequest - onRequest;
      const r = last!;
      const asOf = r.projectionsAsOf ? timestampDate(r.projectionsAsOf).toISOString() : "-";
      rows.push([
        name,
        ...t.cells,
        `${(t.median / baseline.median).toFixed(0)}×`,
        `${r.billingCount} billings (${projected} projected on request, ${r.billingsDated} dated, ${r.billingsNotProjected} left out; as of ${asOf}), P50 ${r.projectedTotal} (P10 ${round(r.amount!.p10)}, P90 ${round(r.amount!.p90)})`,
      ]);
      if (target) rows.push(["  target", `< ${TARGET_MS} ms`, "", "", t.median < TARGET_MS ? "met" : "missed", ""]);
    };
    const inBackground = async (name: string, runs: number, before: () => Promise<unknown>) => {
      const projected = refresher.stats.projected;
      const t = await timeCalls(runs, () => refresher.idle(), before);
      rows.push([`background: ${name}`, ...t.cells, "", `${refresher.stats.projected - projected} billings projected`]);
    };
    // Nothing stored yet (the first deployment): the call projects up to its bound and leaves the rest out.
    await measure("first call, nothing stored yet (deployment)", 1, async () => undefined, true);
    // January 2027 bills every subscription's open December period: all 10,000 are projected, off the request path.
    await inBackground("cold refresh of every billing (service start)", 1, async () => void refresher.refreshAll());
    await measure("first call", 1, async () => undefined, true);
    const changed = async () => {
      // As the rating consumer does after each commit: the customers of the batch are touched.
      refresher.touch(await newUsage(db, Math.round(SUBSCRIPTIONS * CHANGED)));
      await refresher.idle();
    };
    await inBackground(`refresh after new usage of ${CHANGED * 100} % of subscriptions`, RUNS, async () => refresher.touch(await newUsage(db, Math.round(SUBSCRIPTIONS * CHANGED))));
    await measure(`${CHANGED * 100} % of subscriptions with new usage since the last call`, RUNS, changed, true);
    await measure("nothing changed since the last call", RUNS, async () => undefined, true);
    // Local midnight (UTC here: every subscription's day ends at once): every row's fresh_until has passed.
    clock.set("2026-12-11T00:00:01Z");
    await measure("just after a day boundary (called at once, before any refresh)", RUNS, async () => undefined, true);
    await measure(`just after a day boundary, ${CHANGED * 100} % with new usage before each call`, RUNS, async () => void (await newUsage(db, Math.round(SUBSCRIPTIONS * CHANGED))), true);
    await inBackground("refresh after the day boundary (periodic sweep)", 1, async () => void refresher.refreshAll());
    await measure("after that refresh", RUNS, async () => undefined, true);
    console.log(`\nForecastRevenue over ${SUBSCRIPTIONS} subscriptions, as of ${NOW}; load average ${osLoad()}`);
    console.table(rows.map(([what, calls, median, cpu, ratio, detail]) => ({ what, calls, "median wall": median, "CPU, this process": cpu, "÷ baseline": ratio, detail })));
  } finally {
    await svc.stop();
    await env.close();
  }
}

/**
 * Wall time of the first call and the median of the next RUNS, and the CPU time this process
 * (client and the in-process rating service) spent on the median call: on a machine shared with
 * other work, wall time includes waiting for a core, CPU time does not (Postgres's is not counted).
 */
async function timeCalls(runs: number, call: () => Promise<unknown>, before: () => Promise<unknown> = async () => undefined): Promise<{ median: number; cpu: number; cells: string[] }> {
  const times: { wall: number; cpu: number }[] = [];
  for (let i = 0; i < runs; i++) {
    await before();
    const t = performance.now();
    const c = process.cpuUsage();
    await call();
    const used = process.cpuUsage(c);
    times.push({ wall: performance.now() - t, cpu: (used.user + used.system) / 1000 });
  }
  const sorted = [...times].sort((a, b) => a.wall - b.wall);
  const { wall: median, cpu } = sorted[Math.floor(sorted.length / 2)]!;
  return { median, cpu, cells: [`${runs}`, `${median.toFixed(1)} ms`, `${cpu.toFixed(1)} ms`] };
}

function round(s: string): string {
  return Number(s).toFixed(2);
}

function osLoad(): string {
  return loadavg().map((l) => l.toFixed(1)).join(" / ");
}

/** One more unit of December usage for `count` random subscriptions, as rating would record it; their customers. */
async function newUsage(db: { query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }> }, count: number): Promise<string[]> {
  const { rows } = await db.query(
    `WITH picked AS (SELECT DISTINCT 'sub_' || (1 + floor(random() * $1))::int AS id FROM generate_series(1, $2)),
          periods AS (UPDATE segment_usage SET quantity = quantity + 1
                      WHERE period_start = '2026-12-01T00:00:00Z' AND subscription_id IN (SELECT id FROM picked) RETURNING subscription_id)
     UPDATE daily_usage SET quantity = quantity + 1 WHERE day_start = '2026-12-10T00:00:00Z' AND subscription_id IN (SELECT subscription_id FROM periods)
     RETURNING 'cus_' || substr(subscription_id, 5) AS customer_id`,
    [SUBSCRIPTIONS, count],
  );
  return (rows as { customer_id: string }[]).map((r) => r.customer_id);
}

/**
 * Subscriptions, daily usage and period quantities in three statements: generate_series on the
 * server, a per-customer level (10–2,000 a day), weekday shape, a ±10 % monthly trend, noise.
 */
async function seed(db: { query(sql: string, params?: unknown[]): Promise<unknown> }): Promise<void> {
  await db.query(
    `INSERT INTO subscriptions (id, customer_id, time_zone, anchor, start_time, cancel_time, phases, segments, idempotency_key, create_time, revision, announced_status, announced_period_end)
     SELECT 'sub_' || i, 'cus_' || i, 'UTC', 'calendar', '2026-09-01T00:00:00Z', NULL,
            '[{"from":"2026-09-01T00:00:00.000Z","interval":"month"}]'::jsonb,
            jsonb_build_array(jsonb_build_object('start', '2026-09-01T00:00:00.000Z', 'planKey', (ARRAY['graduated','volume','unit'])[1 + i % 3], 'planVersion', 1)),
            NULL, '2026-09-01T00:00:00Z', 1, 'active', '2030-01-01T00:00:00Z'
     FROM generate_series(1, $1::int) i`,
    [SUBSCRIPTIONS],
  );
  await db.query(
    `INSERT INTO daily_usage (subscription_id, component_key, dimension_value, day_start, quantity)
     SELECT 'sub_' || i, 'tok', '', day,
            round((exp(2.3 + 5.3 * ((i * 7919) % 1000) / 1000.0)
                   * (CASE WHEN extract(isodow FROM day) >= 6 THEN 0.6 ELSE 1.15 END)
                   * (1 + (((i * 31) % 21) - 10) / 100.0 * extract(epoch FROM day - '2026-09-01'::timestamptz) / 2592000)
                   * (0.8 + 0.4 * ((i * 13 + extract(doy FROM day)::int * 17) % 100) / 100.0))::numeric, 3)
     FROM generate_series(1, $1::int) i, generate_series('2026-09-01T00:00:00Z'::timestamptz, '2026-12-10T00:00:00Z', interval '1 day') day`,
    [SUBSCRIPTIONS],
  );
  await db.query(
    `INSERT INTO segment_usage (subscription_id, component_key, dimension_value, period_start, segment_start, customer_id, plan_key, plan_version, meter_key, segment_end, period_end, quantity, readings, latest_time, latest_event_id, amount)
     SELECT d.subscription_id, 'tok', '', p.start, p.start, 'cus_' || substr(d.subscription_id, 5), s.segments->0->>'planKey', 1, 'tokens', p.start + interval '1 month', p.start + interval '1 month', sum(d.quantity), count(*), NULL, '', 0
     FROM daily_usage d JOIN subscriptions s ON s.id = d.subscription_id
     CROSS JOIN LATERAL (SELECT date_trunc('month', d.day_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS start) p
     GROUP BY d.subscription_id, p.start, s.segments`,
  );
  await db.query("ANALYZE");
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

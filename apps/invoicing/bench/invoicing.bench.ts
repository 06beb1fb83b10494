/**
 * Closing a month for SUBSCRIPTIONS (10,000) subscriptions — 3 metered components each, graduated
 * tiers — into FINALIZED invoices (grace 0: one billing cycle drafts, prices, numbers, publishes
 * them all), then ReconcileInvoices over them.
 *
 *   npm run bench:invoicing      (SUBSCRIPTIONS, BATCH to tune; BENCH_CPU_PROF=dir to profile invoicing)
 *
 * Metering and rating are the real services, each in its own process from its own entry point,
 * on a fresh test environment (own database, own NATS prefix): the plan, the subscriptions and the
 * usage go in through their APIs, rating rates the usage it receives from metering over NATS, and
 * invoicing learns the subscriptions from rating's events. Invoicing runs in this process (its
 * clock is moved to the end of the month); it prices every period with rating's PreviewPeriods
 * over gRPC, and reconciliation re-derives every invoice from metering's QueryUsage and rating's
 * plans. CPU is reported per invoice for each process: invoicing, rating, metering and the
 * Postgres backends serving this bench's database (other databases on the shared server are not
 * counted).
 *
 * Do-nothing baseline, same run: the same number of rows written by plain INSERTs in the same
 * batch size, one transaction per batch, plus one no-op rating round trip per batch — the floor
 * of "one row and one pricing call per invoice".
 */
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { metering, rating } from "@tally/contracts";
import { createServiceClient, startService, type Pool } from "@tally/platform";
import { createTestEnvironment, ManualClock, TEST_API_KEYS, TEST_KEYS } from "@tally/platform/testing";
import { noCreditBurns } from "../src/adapter/credit-ledger";
import { RatingPlans } from "../src/adapter/plan-source";
import { RatingRefusedUsage } from "../src/adapter/refused-usage";
import { MeteringUsage } from "../src/adapter/usage-source";
import { createInvoicingService, type InvoicingInternals } from "../src/invoicing-service";
import { Reconciler } from "../src/service/reconciler";
import { processCpuMs, startServiceProcess, type ServiceProcess } from "./service-process";

const SUBSCRIPTIONS = Number(process.env.SUBSCRIPTIONS ?? 10_000);
const BATCH = Number(process.env.BATCH ?? 500);

const tiers = (a: string, b: string, c: string) => ({
  case: "graduated" as const,
  value: {
    tiers: [
      { upTo: "1000", unitAmount: a, flatAmount: "0" },
      { upTo: "10000", unitAmount: b, flatAmount: "5" },
      { upTo: "", unitAmount: c, flatAmount: "0" },
    ],
  },
});
const COMPONENTS = [
  { key: "input_tokens", model: tiers("0.003", "0.002", "0.001") },
  { key: "output_tokens", model: tiers("0.015", "0.01", "0.0075") },
  { key: "requests", model: tiers("0.0004", "0.0003", "0.00025") },
];

/** The current UTC month: its start is at most 31 days ago, inside metering's and rating's backfill windows. */
function currentMonth(now: Date): { start: Date; end: Date } {
  return { start: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)), end: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)) };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function inParallel<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

/** CPU (ms) of the Postgres backends connected to this bench's database. */
async function postgresCpuMs(pool: Pool): Promise<Map<number, number>> {
  const { rows } = await pool.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`);
  const out = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      out.set(pid, processCpuMs(pid));
    } catch {
      // Ended in between.
    }
  }
  return out;
}

function postgresDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

/** CPU of every process taking part, over one phase. */
async function cpuSnapshot(pool: Pool, others: ServiceProcess[]) {
  return { node: process.cpuUsage(), others: others.map((p) => p.cpuMs()), postgres: await postgresCpuMs(pool) };
}

async function cpuSince(pool: Pool, others: ServiceProcess[], s: Awaited<ReturnType<typeof cpuSnapshot>>) {
  const u = process.cpuUsage(s.node);
  return { invoicing: (u.user + u.system) / 1000, others: others.map((p, i) => p.cpuMs() - s.others[i]!), postgres: postgresDelta(s.postgres, await postgresCpuMs(pool)) };
}

async function main(): Promise<void> {
  const env = await createTestEnvironment();
  const shared = { DATABASE_URL: env.database.url, NATS_URL: env.natsUrl, NATS_PREFIX: env.natsPrefix, API_KEYS: TEST_API_KEYS };
  const meteringProcess = await startServiceProcess("metering", shared);
  const ratingProcess = await startServiceProcess("rating", { ...shared, RATING_METERING_ADDRESS: meteringProcess.address, RATING_METERING_API_KEY: TEST_KEYS.read });
  const others = [ratingProcess, meteringProcess];
  const meter = createServiceClient(metering.Meter, meteringProcess.address, TEST_KEYS.all);
  const rater = createServiceClient(rating.Rating, ratingProcess.address, TEST_KEYS.all);
  const month = currentMonth(new Date());
  const clock = new ManualClock(new Date());
  let internals: InvoicingInternals | undefined;
  const service = await startService(
    createInvoicingService({ cycleIntervalMs: 3_600_000, batchSize: BATCH, rating: { address: ratingProcess.address, apiKey: TEST_KEYS.read } }, (i) => (internals = i)),
    env.config("invoicing", { DB_POOL_SIZE: "10" }),
    { clock },
  );
  const pool = service.deps.pool;
  try {
    // Setup (not measured): meters, plan, profiles, subscriptions and usage through the APIs.
    for (const c of COMPONENTS) {
      await meter.client.createMeter({ meter: { key: c.key, eventType: "llm", aggregation: metering.Aggregation.SUM, valueProperty: c.key } });
    }
    await until("rating to learn the meters", async () => {
      try {
        await rater.client.createPlan({
          plan: {
            key: "bench",
            name: "Bench",
            currency: "USD",
            billingInterval: rating.BillingInterval.MONTH,
            components: COMPONENTS.map((c) => ({ key: c.key, meterKey: c.key, displayName: c.key, pricing: { case: "price" as const, value: { model: c.model } } })),
          },
        });
        return true;
      } catch {
        return false;
      }
    });
    await pool.query(
      `INSERT INTO customers (customer_id, legal_name, email, billing_address, currency, grace_ms, net_terms_days, tax_rates, tax_exempt, invoice_prefix, create_time, update_time)
       SELECT 'cus_' || n, 'Customer ' || n, 'c' || n || '@bench.test', '{}', 'USD', 0, 30, '[{"name":"VAT","percent":"20"}]', false, 'B' || (n % 4), now(), now()
       FROM generate_series(0, $1 - 1) AS n`,
      [SUBSCRIPTIONS],
    );
    const ids = Array.from({ length: SUBSCRIPTIONS }, (_, n) => n);
    await inParallel(ids, 16, async (n) => {
      await rater.client.createSubscription({ customerId: `cus_${n}`, planKey: "bench", startTime: timestampFromDate(month.start), idempotencyKey: `bench-${n}` });
    });
    const usageUntil = Math.min(Date.now() - 60_000, month.end.getTime() - 1);
    const span = usageUntil - month.start.getTime();
    for (let start = 0; start < SUBSCRIPTIONS; start += 1000) {
      const events = ids.slice(start, start + 1000).map((n) => ({
        id: `u_${n}`,
        customerId: `cus_${n}`,
        eventType: "llm",
        time: timestampFromDate(new Date(month.start.getTime() + ((n * 7919) % span))),
        properties: Object.fromEntries(COMPONENTS.map((c, k) => [c.key, `${((n * 7919 + k * 104_729) % 25_000) + 0.5}`])),
      }));
      const r = await meter.client.recordBatch({ events });
      if (r.acceptedCount !== events.length) throw new Error(`metering accepted ${r.acceptedCount} of ${events.length}`);
    }
    await until("rating to rate the usage", async () => Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM rating.rated_events`)).rows[0]!.n) >= SUBSCRIPTIONS);
    await until("invoicing to learn the subscriptions", async () => Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM subscriptions`)).rows[0]!.n) >= SUBSCRIPTIONS);
    // And for invoicing to have taken in rating's usage.rated of the month (twice in a row: rating
    // publishes after its commits), so the close is measured on a settled system.
    const bus = service.deps.bus;
    const drained = async () => {
      for (const { owner, durable } of bus.durables.values()) {
        const info = await bus.manager.consumers.info(bus.streamName(owner), durable);
        if (info.num_pending + info.num_ack_pending > 0) return false;
      }
      return true;
    };
    await until("invoicing to drain rating's events", async () => (await drained()) && (await new Promise((r) => setTimeout(r, 1_000)), await drained()));
    console.log(`invoicing bench: ${SUBSCRIPTIONS} subscriptions × ${COMPONENTS.length} graduated components, batch ${BATCH}, 4 issuing sequences; rating and metering in their own processes`);

    clock.set(new Date(month.end.getTime() + 1_000));
    const s0 = await cpuSnapshot(pool, others);
    const t0 = performance.now();
    // Cycles until every period is invoiced: a cycle skips subscriptions that rating's usage feed
    // holds at that moment (SKIP LOCKED); the next one takes them.
    let finalized = 0;
    let cycles = 0;
    while (finalized < SUBSCRIPTIONS && cycles < 20) {
      finalized += (await internals!.cycle.run()).invoicesFinalized;
      cycles++;
    }
    const closeMs = performance.now() - t0;
    const closeCpu = await cpuSince(pool, others, s0);
    if (finalized !== SUBSCRIPTIONS) throw new Error(`finalized ${finalized} of ${SUBSCRIPTIONS}`);

    const s1 = await cpuSnapshot(pool, others);
    const t1 = performance.now();
    const reconciler = new Reconciler(pool, noCreditBurns, new RatingPlans(rater), new MeteringUsage(meter), new RatingRefusedUsage(rater));
    const report = await reconciler.run(month.start, month.end);
    const reconcileMs = performance.now() - t1;
    const reconcileCpu = await cpuSince(pool, others, s1);

    // Do-nothing baseline: the same number of rows in the same batches, plain INSERTs, and one
    // rating round trip per batch that does no work (an empty ListUnratedEvents page).
    await pool.query(`CREATE TABLE baseline (id text PRIMARY KEY, amount numeric(38,12), body jsonb)`);
    const t2 = performance.now();
    for (let start = 0; start < SUBSCRIPTIONS; start += BATCH) {
      const rows = Array.from({ length: Math.min(BATCH, SUBSCRIPTIONS - start) }, (_, k) => `b_${start + k}`);
      await rater.client.listUnratedEvents({ customerId: "nobody" });
      await pool.query(`INSERT INTO baseline SELECT id, 1.5, '{}' FROM unnest($1::text[]) AS id`, [rows]);
    }
    const baselineMs = performance.now() - t2;

    const per = (ms: number, n: number) => `${(ms / n).toFixed(3)} ms`;
    const cpuLine = (c: Awaited<ReturnType<typeof cpuSince>>, n: number) =>
      `invoicing ${per(c.invoicing, n)}, rating ${per(c.others[0]!, n)}, metering ${per(c.others[1]!, n)}, postgres (this database's backends) ${per(c.postgres, n)}`;
    const perSecond = (SUBSCRIPTIONS / closeMs) * 1000;
    console.log(`close + finalize: ${SUBSCRIPTIONS} invoices in ${(closeMs / 1000).toFixed(2)} s (${cycles} cycles) = ${perSecond.toFixed(0)} invoices/s (target >= 300)`);
    console.log(`  CPU per invoice: ${cpuLine(closeCpu, SUBSCRIPTIONS)}`);
    console.log(`reconcile: ${report.checked} invoices in ${(reconcileMs / 1000).toFixed(2)} s = ${((report.checked / reconcileMs) * 1000).toFixed(0)} invoices/s, ${report.findings.length} findings (target < 60 s)`);
    for (const f of report.findings.slice(0, 5)) console.log(`  finding: ${JSON.stringify(f)}`);
    console.log(`  CPU per invoice: ${cpuLine(reconcileCpu, report.checked)}`);
    console.log(`do-nothing baseline (${SUBSCRIPTIONS / BATCH} batches: a no-op rating call + a plain INSERT of ${BATCH} rows): ${baselineMs.toFixed(0)} ms; close+finalize / baseline = ${(closeMs / baselineMs).toFixed(1)}×`);
  } finally {
    meter.close();
    rater.close();
    await service.stop();
    for (const p of others) await p.stop();
    await env.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

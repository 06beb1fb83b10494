/**
 * Closing a month for SUBSCRIPTIONS (10,000) subscriptions — 3 metered components each, graduated
 * tiers — into FINALIZED invoices (grace 0: one billing cycle drafts, prices, numbers, publishes
 * them all), then ReconcileInvoices over them.
 *
 *   npm run bench:invoicing      (SUBSCRIPTIONS, BATCH to tune)
 *
 * Invoicing runs in-process on a fresh test environment (own database, own NATS prefix). Rating is
 * stood in for in-process: each period is priced with @tally/pricing (three graduated tiers per
 * component, per-subscription quantities), which is what rating's PreviewPeriods computes; so the
 * figures are invoicing's own cost (Postgres writes, numbering, outbox, events), not rating's.
 * Reconciliation here re-checks each invoice's arithmetic and the invariants (no metering/rating to
 * re-derive lines from). Baseline, same run: the same number of rows written by plain INSERTs in
 * the same batch size, one transaction per batch — the floor of "one row per invoice".
 */
import { startService } from "@tally/platform";
import { createTestEnvironment, ManualClock } from "@tally/platform/testing";
import { createPricer, Decimal, type Pricer } from "@tally/pricing";
import type { PeriodPricer, PeriodRef } from "../src/adapter/rating-source";
import type { PricedPeriod } from "../src/domain/types";
import { createInvoicingService, type InvoicingInternals } from "../src/invoicing-service";
import { Reconciler } from "../src/service/reconciler";
import { noCreditBurns } from "../src/adapter/credit-ledger";

const SUBSCRIPTIONS = Number(process.env.SUBSCRIPTIONS ?? 10_000);
const BATCH = Number(process.env.BATCH ?? 500);
const NOVEMBER = { start: new Date("2026-11-01T00:00:00Z"), end: new Date("2026-12-01T00:00:00Z") };

const tiers = (a: string, b: string, c: string) =>
  createPricer({
    model: {
      kind: "graduated",
      tiers: [
        { upTo: new Decimal(1000), unitAmount: new Decimal(a), flatAmount: new Decimal(0) },
        { upTo: new Decimal(10_000), unitAmount: new Decimal(b), flatAmount: new Decimal(5) },
        { upTo: null, unitAmount: new Decimal(c), flatAmount: new Decimal(0) },
      ],
    },
  });
const COMPONENTS: [string, Pricer][] = [
  ["input_tokens", tiers("0.003", "0.002", "0.001")],
  ["output_tokens", tiers("0.015", "0.01", "0.0075")],
  ["requests", tiers("0.0004", "0.0003", "0.00025")],
];

/** Rating's PreviewPeriods, in-process: the same library, the same line shape (tier details). */
class LibraryPricer implements PeriodPricer {
  async price(refs: PeriodRef[]): Promise<PricedPeriod[]> {
    return refs.map((r) => {
      const n = Number(r.subscriptionId.slice(4));
      const period = monthOf(r.at);
      const base = period.start.toISOString();
      return {
        subscriptionId: r.subscriptionId,
        customerId: `cus_${n}`,
        currency: "USD",
        period,
        segments: [{ planKey: "bench", planVersion: 1, range: period, fraction: new Decimal(1) }],
        lines: COMPONENTS.map(([key, pricer], k) => {
          const q = new Decimal(((n * 7919 + k * 104_729) % 25_000) + 0.5);
          const priced = pricer.total(q);
          return {
            ref: `${base}/usage/${key}`,
            kind: "usage" as const,
            componentKey: key,
            dimensionValue: "",
            description: key,
            quantity: q,
            amount: priced.amount,
            period,
            details: priced.lines.map((l, t) => ({
              ref: `${base}/usage/${key}/tier/${t}`,
              tierIndex: t,
              lowerBound: "",
              upperBound: "",
              quantity: l.quantity.toFixed(),
              unitAmount: l.unitAmount.toFixed(),
              flatAmount: l.flatAmount.toFixed(),
              subtotal: l.subtotal.toFixed(),
              included: false,
            })),
          };
        }),
      };
    });
  }
}

function monthOf(at: Date): { start: Date; end: Date } {
  return { start: new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1)), end: new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1)) };
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
}

async function main(): Promise<void> {
  const env = await createTestEnvironment();
  const clock = new ManualClock("2026-11-15T00:00:00Z");
  let internals: InvoicingInternals | undefined;
  const service = await startService(
    createInvoicingService({ cycleIntervalMs: 3_600_000, batchSize: BATCH }, (i) => (internals = i), { pricer: new LibraryPricer() }),
    env.config("invoicing", { DB_POOL_SIZE: "10" }),
    { clock },
  );
  const pool = service.deps.pool;
  try {
    // Setup (not measured): profiles and subscriptions as the API and rating's events would leave them.
    await pool.query(
      `INSERT INTO customers (customer_id, legal_name, email, billing_address, currency, grace_ms, net_terms_days, tax_rates, tax_exempt, invoice_prefix, create_time, update_time)
       SELECT 'cus_' || n, 'Customer ' || n, 'c' || n || '@bench.test', '{}', 'USD', 0, 30, '[{"name":"VAT","percent":"20"}]', false, 'B' || (n % 4), now(), now()
       FROM generate_series(0, $1 - 1) AS n`,
      [SUBSCRIPTIONS],
    );
    await pool.query(
      `INSERT INTO subscriptions (subscription_id, customer_id, time_zone, start_time, revision, segments, next_period_at, next_close_at)
       SELECT 'sub_' || n, 'cus_' || n, 'UTC', $2, 1, '[{"planKey":"bench","planVersion":1,"start":"2026-11-01T00:00:00.000Z"}]', $2, $2
       FROM generate_series(0, $1 - 1) AS n`,
      [SUBSCRIPTIONS, NOVEMBER.start],
    );
    console.log(`invoicing bench: ${SUBSCRIPTIONS} subscriptions × ${COMPONENTS.length} graduated components, batch ${BATCH}, 4 issuing sequences`);

    clock.set("2026-12-01T00:00:01Z");
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const cycle = await internals!.cycle.run();
    const closeMs = performance.now() - t0;
    const closeCpu = cpuMs(cpu0);
    if (cycle.invoicesFinalized !== SUBSCRIPTIONS) throw new Error(`finalized ${cycle.invoicesFinalized} of ${SUBSCRIPTIONS}`);

    const cpu1 = process.cpuUsage();
    const t1 = performance.now();
    const report = await new Reconciler(pool, noCreditBurns, undefined, undefined, undefined).run(NOVEMBER.start, NOVEMBER.end);
    const reconcileMs = performance.now() - t1;
    const reconcileCpu = cpuMs(cpu1);

    // Baseline: the same number of rows, same batches, plain INSERTs.
    await pool.query(`CREATE TABLE baseline (id text PRIMARY KEY, amount numeric(38,12), body jsonb)`);
    const t2 = performance.now();
    for (let start = 0; start < SUBSCRIPTIONS; start += BATCH) {
      const ids = Array.from({ length: Math.min(BATCH, SUBSCRIPTIONS - start) }, (_, k) => `b_${start + k}`);
      await pool.query(`INSERT INTO baseline SELECT id, 1.5, '{}' FROM unnest($1::text[]) AS id`, [ids]);
    }
    const baselineMs = performance.now() - t2;

    const perSecond = (SUBSCRIPTIONS / closeMs) * 1000;
    console.log(`close + finalize: ${SUBSCRIPTIONS} invoices in ${(closeMs / 1000).toFixed(2)} s = ${perSecond.toFixed(0)} invoices/s (target >= 300)`);
    console.log(`  CPU per invoice, invoicing process (node): ${(closeCpu / SUBSCRIPTIONS).toFixed(3)} ms; Postgres is shared with other work here and not attributed`);
    console.log(`reconcile: ${report.checked} invoices in ${(reconcileMs / 1000).toFixed(2)} s = ${((report.checked / reconcileMs) * 1000).toFixed(0)} invoices/s, ${report.findings.length} findings (target < 60 s)`);
    console.log(`  CPU per invoice, invoicing process (node): ${(reconcileCpu / report.checked).toFixed(3)} ms`);
    console.log(`baseline (plain INSERT of ${SUBSCRIPTIONS} rows in batches of ${BATCH}): ${baselineMs.toFixed(0)} ms; close+finalize / baseline = ${(closeMs / baselineMs).toFixed(1)}×`);
  } finally {
    await service.stop();
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

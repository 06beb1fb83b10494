import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { invoicing, payments, rating } from "@tally/contracts";
import { Decimal } from "@tally/pricing";
import { retrying, connectMonthClients, type MonthClients } from "./clients";
import { createHash } from "node:crypto";
import type { FaultRecord } from "./chaos";
import { MonthDeployment, type DeploymentShape } from "./deployment";
import { FORECAST_DAYS, recordForecasts, scoreForecasts, type ForecastScore } from "./forecasts";
import { CapGate, newIngestCounts, sendBatches, type CapCounts, type IngestCounts, type Outgoing } from "./ingest";
import { tallyImport, type ImportSummary } from "./late-import";
import { CURRENCIES, planKey } from "./plans";
import { compareInvoices, type Recomputation } from "./recompute";
import { generateScenario, MONTH, PROBE_CUSTOMER, type Scenario, type UsageEvent } from "./scenario";
import { GRACE_SECONDS, CARDS, inParallel, setUpCatalog } from "./setup-catalog";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface MonthOptions {
  seed: number;
  customers: number;
  events: number;
  batchSize: number;
  concurrency: number;
  /** Slices of a day the clock moves by (4: every 6 hours); each slice is sent, then rated, before the next. */
  ticksPerDay: number;
  log(line: string): void;
  /**
   * Where a `--chaos` mode injects its faults (kill -9 of a ServiceProcess, `nats.kill()`,
   * `postgres.restart()`/`crash()`, stripe-local faults): called before every tick of the month
   * and before every later phase. The month tolerates them by construction — every call is
   * retried on UNAVAILABLE with ids that make a repeat harmless, and every wait is on a condition.
   */
  chaos?: ChaosHook;
  /** NATS nodes and instances per service (default: one of each; `--chaos` runs 3 nodes, 2 ratings, 2 invoicings). */
  shape?: DeploymentShape;
}

export interface ChaosHook {
  /** Before each tick (awaited: a fault still being measured holds the month). */
  beforeTick(d: MonthDeployment, at: { day: number; tick: number; time: Date }): Promise<void>;
  /** As the tick's events start to go out (not awaited: faults strike under load). */
  underLoad?(d: MonthDeployment, at: { day: number; tick: number; time: Date }): void;
  beforePhase(d: MonthDeployment, phase: string): Promise<void>;
  /** Resolves once every fault has been measured; the table and the broken promises. */
  settled?(): Promise<void>;
  records?: FaultRecord[];
  failures?(): string[];
}

export interface MonthReport {
  options: { seed: number; customers: number; events: number; chaos: boolean; natsNodes: number; ratingInstances: number; invoicingInstances: number };
  /**
   * sha256 (first 16 hex) of every invoice's customer, currency, period, amounts and lines (not
   * ids, numbers or times, which differ between runs): the same seed gives the same digest on a
   * clean run and a chaos run when both billed exactly the same.
   */
  invoiceDigest: string;
  /** The chaos run's faults (empty on a clean run). */
  faults: FaultRecord[];
  phasesSeconds: Record<string, number>;
  /** The month phase's seconds by step of its ticks (drain, clock, cap checks, send + probe rated, …). */
  monthStepsSeconds: Record<string, number>;
  ingest: IngestCounts & { eventsPerSecond: number; lateInGrace: ImportSummary; lateAfterClose: number; probes: number };
  caps: CapCounts & { customers: number; capsHit: number; expiredGrantsAtZero: number; expiringGrants: number };
  eventToRatedMs: { p50: number; p99: number; max: number; samples: number };
  invoices: { count: number; byStatus: Record<string, number>; totalsByCurrency: Record<string, string>; creditsByCurrency: Record<string, string> };
  recomputation: Omit<Recomputation, "mismatches"> & { mismatches: number; examples: Recomputation["mismatches"] };
  reconciliation: { invoicingFindings: number; invoicingLateAfterCloseFindings: number; paymentsMismatches: number; doubleCharges: number; examples: string[] };
  payments: { charged: number; succeededFirstTry: number; recoveredByDunning: number; uncollectible: number; collectedByCurrency: Record<string, string> };
  periodCloseSeconds: number;
  cpuSecondsPerMillionEvents: Record<string, number>;
  forecasts: ForecastScore[];
  failures: string[];
}

const quantile = (xs: number[], q: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};

/** The whole month: see tools/month/README.md. */
export async function runMonth(o: MonthOptions): Promise<MonthReport> {
  log = o.log;
  const phases: Record<string, number> = {};
  let current = { name: "", started: Date.now() };
  const phase = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    current = { name, started };
    o.log(`${name}…`);
    const out = await work();
    phases[name] = (Date.now() - started) / 1000;
    o.log(`${name} done in ${phases[name]!.toFixed(1)} s`);
    return out;
  };
  const scenario = await phase("generate", async () => generateScenario(o));
  const d = await phase("start services", () => MonthDeployment.start({ clockStart: MONTH.start, log: o.log, shape: o.shape }));
  const c = connectMonthClients(d);
  // Ctrl-C or a timeout's SIGTERM: the private servers and service processes go too.
  // Said first: stopping closes the harness's NATS connection under the phase, whose error follows.
  const onSignal = (signal: NodeJS.Signals) => {
    o.log(`${signal} received in phase "${current.name}" after ${((Date.now() - current.started) / 1000).toFixed(0)} s of it: stopping everything`);
    void d.stop().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    await phase("catalog", () => setUpCatalog(c, scenario));
    const month = await phase("month", () => ingestMonth(c, d, scenario, o));
    await o.chaos?.beforePhase(d, "close");
    const close = await phase("period close", () => closePeriod(c, d, scenario, month.billed));
    await o.chaos?.beforePhase(d, "payments");
    const paid = await phase("payments and dunning", () => collect(c, d, scenario, close.invoices));
    await o.chaos?.beforePhase(d, "reconciliation");
    const recon = await phase("reconciliation", () => reconcile(c, paid.invoices, scenario));
    await o.chaos?.settled?.();
    const recomputation = compareInvoices(scenario.customers, month.billed, paid.invoices);
    const cpu = d.cpuSeconds();
    const invoicedTotals = new Map(paid.invoices.map((i) => [i.customerId, { currency: i.currency, total: new Decimal(i.total) }]));
    const sum = (pick: (i: invoicing.Invoice) => string) => {
      const by: Record<string, Decimal> = {};
      for (const i of paid.invoices) by[i.currency] = (by[i.currency] ?? new Decimal(0)).plus(pick(i) || "0");
      return Object.fromEntries(Object.entries(by).map(([k, v]) => [k, v.toFixed()]));
    };
    const byStatus: Record<string, number> = {};
    for (const i of paid.invoices) byStatus[invoicing.InvoiceStatus[i.status]] = (byStatus[invoicing.InvoiceStatus[i.status]] ?? 0) + 1;
    const eventsInMillions = (month.counts.accepted + month.counts.duplicatesSent + month.counts.malformedSent) / 1e6;
    const report: MonthReport = {
      options: {
        seed: o.seed,
        customers: o.customers,
        events: o.events,
        chaos: o.chaos !== undefined,
        natsNodes: o.shape?.natsNodes ?? 1,
        ratingInstances: o.shape?.ratingInstances ?? 1,
        invoicingInstances: o.shape?.invoicingInstances ?? 1,
      },
      invoiceDigest: invoiceDigest(paid.invoices),
      faults: o.chaos?.records ?? [],
      phasesSeconds: phases,
      monthStepsSeconds: month.steps,
      ingest: { ...month.counts, eventsPerSecond: month.eventsPerSecond, lateInGrace: close.lateInGrace, lateAfterClose: close.lateAfterClose, probes: month.latencies.length },
      caps: { ...month.caps.counts, customers: scenario.customers.filter((x) => x.capTokens).length, capsHit: month.caps.hitCaps(), expiredGrantsAtZero: month.expiredGrantsAtZero, expiringGrants: scenario.customers.filter((x) => x.credits).length },
      eventToRatedMs: { p50: quantile(month.latencies, 0.5), p99: quantile(month.latencies, 0.99), max: Math.max(0, ...month.latencies), samples: month.latencies.length },
      invoices: { count: paid.invoices.length, byStatus, totalsByCurrency: sum((i) => i.total), creditsByCurrency: sum((i) => i.creditsApplied) },
      recomputation: { ...recomputation, mismatches: recomputation.mismatches.length, examples: recomputation.mismatches.slice(0, 20) },
      reconciliation: recon,
      payments: paid.payments,
      periodCloseSeconds: phases["period close"]!,
      cpuSecondsPerMillionEvents: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, Number((v / eventsInMillions).toFixed(1))])),
      forecasts: scoreForecasts(month.forecasts, invoicedTotals),
      failures: [],
    };
    report.failures = [...failuresOf(report, d), ...(o.chaos?.failures?.() ?? [])];
    return report;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    c.close();
    await d.stop();
  }
}

/** See MonthReport.invoiceDigest. */
export function invoiceDigest(invoices: invoicing.Invoice[]): string {
  const time = (t: Parameters<typeof timestampDate>[0] | undefined) => (t ? timestampDate(t).toISOString() : "");
  const rows = invoices.map((i) => {
    const lines = i.lines.map((l) => [l.kind, l.componentKey, l.dimensionValue, l.description, l.quantity, l.amount, l.roundedAmount, time(l.period?.start), time(l.period?.end)].join(",")).sort();
    return [i.customerId, i.currency, time(i.period?.start), time(i.period?.end), i.subtotal, i.creditsApplied, i.balanceApplied, i.total, i.amountDue, ...lines].join("|");
  });
  return createHash("sha256").update(rows.sort().join("\n")).digest("hex").slice(0, 16);
}

function failuresOf(r: MonthReport, d: MonthDeployment): string[] {
  const f: string[] = [];
  if (r.recomputation.mismatches > 0) f.push(`${r.recomputation.mismatches} invoice mismatches against the recomputation`);
  if (r.ingest.unexpected.length > 0) f.push(`${r.ingest.unexpected.length} unexpected metering answers, e.g. ${r.ingest.unexpected.slice(0, 3).join("; ")}`);
  if (r.ingest.duplicatesAnswered !== r.ingest.duplicatesSent) f.push("a re-sent event was counted again");
  if (r.ingest.lateInGrace.rejected > 0) f.push("tally import rejected late events");
  if (r.caps.overshoot > 0) f.push(`cap overshoot of ${r.caps.overshoot} units`);
  if (r.caps.expiredGrantsAtZero !== r.caps.expiringGrants) f.push(`${r.caps.expiringGrants - r.caps.expiredGrantsAtZero} expired grants still had a balance`);
  if (r.reconciliation.invoicingFindings > 0) f.push(`invoicing reconciliation: ${r.reconciliation.invoicingFindings} findings`);
  if (r.reconciliation.paymentsMismatches > 0) f.push(`payments reconciliation: ${r.reconciliation.paymentsMismatches} mismatches`);
  if (r.reconciliation.doubleCharges > 0) f.push(`${r.reconciliation.doubleCharges} invoices charged twice`);
  for (const p of d.all) f.push(...p.unexpectedExits);
  return f;
}

interface MonthIngest {
  counts: IngestCounts;
  caps: CapGate;
  /** What should be billed, per customer: accepted originals and probes (late ones are added at close). */
  billed: Map<string, UsageEvent[]>;
  latencies: number[];
  eventsPerSecond: number;
  forecasts: Awaited<ReturnType<typeof recordForecasts>>[];
  expiredGrantsAtZero: number;
  /** Seconds the month phase spent in each step of its ticks, summed (where the month's time goes). */
  steps: Record<string, number>;
}

async function ingestMonth(c: MonthClients, d: MonthDeployment, s: Scenario, o: MonthOptions): Promise<MonthIngest> {
  const counts = newIngestCounts();
  const capped = new Map(s.customers.filter((x) => x.capTokens).map((x) => [x.id, x]));
  const caps = new CapGate(c, capped);
  const billed = new Map<string, UsageEvent[]>();
  const bill = (e: UsageEvent) => {
    const list = billed.get(e.customerId);
    if (list) list.push(e);
    else billed.set(e.customerId, [e]);
  };
  const latencies: number[] = [];
  const forecasts: MonthIngest["forecasts"] = [];
  let sendingMs = 0;
  const steps: Record<string, number> = {};
  const step = async <T>(name: string, work: () => Promise<T> | T): Promise<T> => {
    const started = Date.now();
    try {
      return await work();
    } finally {
      steps[name] = (steps[name] ?? 0) + (Date.now() - started) / 1000;
    }
  };
  let eventIndex = 0;
  let extraIndex = 0;
  let expiredGrantsAtZero = 0;
  const probe = s.customers.find((x) => x.id === PROBE_CUSTOMER)!;
  for (let day = 0; day < MONTH.days; day++) {
    for (let tick = 0; tick < o.ticksPerDay; tick++) {
      const from = new Date(MONTH.start.getTime() + day * DAY + (tick * DAY) / o.ticksPerDay);
      const to = new Date(from.getTime() + DAY / o.ticksPerDay);
      await step("chaos (faults being measured)", () => o.chaos?.beforeTick(d, { day, tick, time: from }));
      if (tick === 0 && (FORECAST_DAYS as readonly number[]).includes(day)) forecasts.push(await step("forecasts", () => recordForecasts(c, day, s.customers, CURRENCIES)));
      if (tick === 0 && day === 16) expiredGrantsAtZero = await step("grant checks", () => expiredGrants(c, s));
      await step("plan changes", () => applyPlanChanges(c, s, from));
      // Holds last at most an hour of service time: the last tick's events are settled (rated) before time moves on.
      await step("drain (every consumer quiet)", () => d.untilQuiet());
      await step("clock (every process on the tick's end)", () => d.setTime(to));
      const batch: UsageEvent[] = [];
      while (eventIndex < s.events.length && s.events[eventIndex]!.time < to) batch.push(s.events[eventIndex++]!);
      const admittedCapped = await step("cap checks (Check per capped event)", () => caps.admit(batch.filter((e) => caps.isCapped(e.customerId))));
      const outgoing: Outgoing[] = [...batch.filter((e) => !caps.isCapped(e.customerId)).map((event) => ({ kind: "event" as const, event })), ...admittedCapped];
      // Re-sent copies go after this tick's originals (never racing them in another batch).
      const again: Outgoing[] = [];
      while (extraIndex < s.extras.length && s.extras[extraIndex]!.after < eventIndex) {
        const x = s.extras[extraIndex++]!.sent;
        // A copy of an event a cap may have kept back is never re-sent: there may be nothing to repeat.
        if (x.kind === "duplicate" && caps.isCapped(x.event.customerId)) continue;
        (x.kind === "malformed" ? outgoing : again).push(x.kind === "malformed" ? x : { kind: "duplicate", event: x.event });
      }
      for (const x of outgoing) if (x.kind === "event") bill(x.event);
      // The probe must land in the period GetCurrentUsage shows: none in the tick that ends the month.
      const probeEvent: UsageEvent | undefined = to < MONTH.end ? { id: `probe_${day}_${tick}`, customerId: probe.id, time: new Date(to.getTime() - 60_000), tokens: 100, model: "small" } : undefined;
      if (probeEvent) bill(probeEvent);
      const started = Date.now();
      o.chaos?.underLoad?.(d, { day, tick, time: from });
      const bulk = sendBatches(c, outgoing, counts, o)
        .then(() => sendBatches(c, again, counts, o))
        .then(() => (sendingMs += Date.now() - started));
      const [, latency] = await step("send + probe rated", () => Promise.all([bulk, probeEvent && measureProbe(c, probeEvent, counts)]));
      if (latency !== undefined) latencies.push(latency);
    }
    if (day % 5 === 4) o.log(`day ${day + 1}: ${counts.accepted} accepted, ${counts.duplicatesSent} re-sent, ${counts.rejected} rejected, caps hit ${caps.hitCaps()}, p99 so far ${quantile(latencies, 0.99)} ms`);
  }
  caps.overshoot();
  return {
    counts,
    caps,
    billed,
    latencies,
    eventsPerSecond: Math.round(counts.sent / (sendingMs / 1000)),
    forecasts,
    expiredGrantsAtZero,
    steps: Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, Number(v.toFixed(1))])),
  };
}

/** Event → rated: one probe event sent while the tick's load is on, timed until rating shows it. */
async function measureProbe(c: MonthClients, e: UsageEvent, counts: IngestCounts): Promise<number> {
  const quantity = async () => {
    const u = await retrying(() => c.rater.getCurrentUsage({ customerId: e.customerId }));
    return u.components.reduce((s, x) => s.plus(x.quantity || "0"), new Decimal(0));
  };
  const before = await quantity();
  const started = Date.now();
  await sendBatches(c, [{ kind: "event", event: e }], counts, { batchSize: 1, concurrency: 1 });
  const deadline = started + 300_000;
  for (;;) {
    if ((await quantity()).gte(before.plus(e.tokens))) return Date.now() - started;
    if (Date.now() > deadline) throw new Error(`probe ${e.id} not rated after 300 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Mid-month upgrades and cancellations take effect at their time; downgrades are scheduled for the period end. */
async function applyPlanChanges(c: MonthClients, s: Scenario, at: Date): Promise<void> {
  const due = s.customers.filter((x) => x.change && x.change.at.getTime() === at.getTime());
  await inParallel(due, 8, async (cu) => {
    const sub = (await retrying(() => c.rater.listSubscriptions({ customerId: cu.id }))).subscriptions[0]!;
    const ch = cu.change!;
    if (ch.kind === "cancel") await retrying(() => c.rater.cancelSubscription({ subscriptionId: sub.id, timing: rating.ChangeTiming.IMMEDIATELY }));
    else
      await retrying(() =>
        c.rater.changePlan({
          subscriptionId: sub.id,
          planKey: planKey(ch.to!, cu.currency),
          timing: ch.kind === "upgrade" ? rating.ChangeTiming.IMMEDIATELY : rating.ChangeTiming.AT_PERIOD_END,
          ...(ch.kind === "upgrade" && { effectiveTime: timestampFromDate(at) }),
        }),
      );
  });
}

/** Day 16: every grant that expired on day 15 has nothing left (limits follows the shared clock). */
async function expiredGrants(c: MonthClients, s: Scenario): Promise<number> {
  let atZero = 0;
  for (const cu of s.customers.filter((x) => x.credits)) {
    const b = await retrying(() => c.limiter.getBalance({ customerId: cu.id }));
    const expiring = (b.balance?.grants ?? []).find((g) => g.expireTime && timestampDate(g.expireTime).getTime() === cu.credits!.expiresAt.getTime());
    // A grant no longer listed is gone too.
    if (!expiring || new Decimal(expiring.remaining?.amount || "0").isZero()) atZero++;
  }
  return atZero;
}

interface Closed {
  invoices: invoicing.Invoice[];
  lateInGrace: ImportSummary;
  lateAfterClose: number;
}

async function listAllInvoices(c: MonthClients): Promise<invoicing.Invoice[]> {
  const out: invoicing.Invoice[] = [];
  let pageToken = "";
  do {
    const r = await retrying(() => c.invoicer.listInvoices({ pageSize: 500, pageToken }));
    out.push(...r.invoices);
    pageToken = r.nextPageToken;
  } while (pageToken);
  return out.filter((i) => i.period && timestampDate(i.period.start!).getTime() < MONTH.end.getTime());
}

/**
 * Period end: drafts for every subscription; late usage inside the grace period (through
 * `tally import`) lands on them; at the end of the grace period they are finalized; usage that
 * comes later still is kept out of the issued invoices.
 */
async function closePeriod(c: MonthClients, d: MonthDeployment, s: Scenario, billed: Map<string, UsageEvent[]>): Promise<Closed> {
  await d.setTime(new Date(MONTH.end.getTime() + 10 * 60_000));
  await d.untilQuiet();
  const before = await d.streamSequences();
  const lateInGrace = await tallyImport(s.lateInGrace, d.processes.metering.address);
  if (lateInGrace.accepted > 0) {
    // The late events must reach the drafts before they are finalized, or they are rightly billed
    // later as late adjustments and this invoice is short. Two outboxes stand between metering's
    // answer and invoicing (metering's usage.recorded, rating's usage.rated), and a consumer that
    // is drained says nothing about a message not yet published: wait for each hop.
    await d.untilPublished("metering", before);
    await d.untilQuiet();
    await d.untilPublished("rating", before);
  }
  for (const e of s.lateInGrace) {
    const list = billed.get(e.customerId);
    if (list) list.push(e);
    else billed.set(e.customerId, [e]);
  }
  await d.untilQuiet();
  // Every subscription has its draft, priced with everything rated (refreshed by the cycle).
  await untilCondition("a draft per subscription", async () => {
    await retrying(() => c.invoicer.runBillingCycle({}));
    const n = (await listAllInvoices(c)).length;
    if (n < s.customers.length) log(`${n} of ${s.customers.length} drafts`);
    return n >= s.customers.length;
  });
  await d.untilQuiet();
  await retrying(() => c.invoicer.runBillingCycle({}));
  await d.setTime(new Date(MONTH.end.getTime() + GRACE_SECONDS * 1000 + 30 * 60_000));
  await untilCondition("every invoice finalized", async () => {
    await retrying(() => c.invoicer.runBillingCycle({}));
    const drafts = (await listAllInvoices(c)).filter((i) => i.status === invoicing.InvoiceStatus.DRAFT).length;
    if (drafts > 0) log(`${drafts} drafts left`);
    return drafts === 0;
  });
  const counts = newIngestCounts();
  await sendBatches(c, s.lateAfterClose.map((event) => ({ kind: "event" as const, event })), counts, { batchSize: 500, concurrency: 2 });
  await d.untilQuiet();
  return { invoices: await listAllInvoices(c), lateInGrace, lateAfterClose: counts.accepted };
}

let log: (line: string) => void = () => undefined;

async function untilCondition(what: string, condition: () => Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  log(`waiting for ${what}`);
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

interface Collected {
  invoices: invoicing.Invoice[];
  payments: MonthReport["payments"];
}

/** First charges, card fixes for the customers who recover, dunning retries over eight days. */
async function collect(c: MonthClients, d: MonthDeployment, s: Scenario, finalized: invoicing.Invoice[]): Promise<Collected> {
  const due = finalized.filter((i) => new Decimal(i.amountDue || "0").gt(0));
  const attemptsOf = async (invoiceId: string) => (await retrying(() => c.payer.listPaymentAttempts({ invoiceId, pageSize: 50 }))).attempts;
  const settled = (a: payments.PaymentAttempt) => a.status === payments.PaymentStatus.SUCCEEDED || a.status === payments.PaymentStatus.FAILED;
  await untilCondition("a first attempt per invoice", async () => {
    let ok = true;
    await inParallel(due, 16, async (i) => {
      if (!(await attemptsOf(i.id)).some(settled)) ok = false;
    });
    return ok;
  });
  const recovering = s.customers.filter((x) => x.payment === "recovers");
  await inParallel(recovering, 16, async (cu) => {
    await retrying(() => c.payer.setDefaultPaymentMethod({ customerId: cu.id, paymentMethod: CARDS.pays }));
  });
  await d.setTime(new Date(MONTH.end.getTime() + 1 * DAY + 3 * HOUR));
  await d.setTime(new Date(MONTH.end.getTime() + 9 * DAY));
  await untilCondition("every invoice paid or uncollectible", async () => {
    const all = await listAllInvoices(c);
    return all.every((i) => i.status === invoicing.InvoiceStatus.PAID || i.status === invoicing.InvoiceStatus.UNCOLLECTIBLE || new Decimal(i.amountDue || "0").isZero());
  });
  const invoices = await listAllInvoices(c);
  let succeededFirstTry = 0;
  let recoveredByDunning = 0;
  const collected: Record<string, Decimal> = {};
  await inParallel(due, 16, async (i) => {
    const attempts = await attemptsOf(i.id);
    const ok = attempts.filter((a) => a.status === payments.PaymentStatus.SUCCEEDED);
    if (ok.some((a) => a.attemptNumber === 1)) succeededFirstTry++;
    else if (ok.length > 0) recoveredByDunning++;
    for (const a of ok) collected[i.currency] = (collected[i.currency] ?? new Decimal(0)).plus(a.amount?.amount ?? "0");
  });
  return {
    invoices,
    payments: {
      charged: due.length,
      succeededFirstTry,
      recoveredByDunning,
      uncollectible: invoices.filter((i) => i.status === invoicing.InvoiceStatus.UNCOLLECTIBLE).length,
      collectedByCurrency: Object.fromEntries(Object.entries(collected).map(([k, v]) => [k, v.toFixed()])),
    },
  };
}

/** Invoicing's and payments' own reconciliations, and at most one successful charge per invoice. */
async function reconcile(c: MonthClients, invoices: invoicing.Invoice[], s: Scenario): Promise<MonthReport["reconciliation"]> {
  const examples: string[] = [];
  for (const i of invoices.filter((x) => x.segments.some((seg) => seg.planKey === ""))) {
    examples.push(`invoice ${i.id} (${i.customerId}) has a segment without a plan: ${i.segments.map((seg) => `${seg.planKey || "?"} ${seg.fraction}`).join(", ")}`);
  }
  // A reconciliation that cannot run is a finding, not the end of the report.
  const inv = await retrying(() => c.invoicer.reconcileInvoices({ periodStart: { start: timestampFromDate(MONTH.start), end: timestampFromDate(MONTH.end) } })).catch((err: unknown) => {
    examples.push(`invoicing: ReconcileInvoices failed: ${err instanceof Error ? err.message : String(err)}`);
    return { findings: [{ check: "reconcile_failed", invoiceId: "", expected: "", actual: "" }] };
  });
  // usage_billed by exactly the usage the harness sent after finalization (past rating's late
  // window), summed over an invoice's lines, and the line amounts that follow from it: metering
  // holds that usage, the issued invoice rightly does not, and invoicing cannot yet bill it later
  // (a known gap of invoicing, #12). Counted apart; every unit accounted for.
  const customerOf = new Map(invoices.map((i) => [i.id, i.customerId]));
  const lateUnits = new Map<string, number>();
  for (const e of s.lateAfterClose) lateUnits.set(e.customerId, (lateUnits.get(e.customerId) ?? 0) + e.tokens);
  const missingByInvoice = new Map<string, number>();
  for (const f of inv.findings) if (f.check === "usage_billed") missingByInvoice.set(f.invoiceId, (missingByInvoice.get(f.invoiceId) ?? 0) + Number(f.expected) - Number(f.actual));
  const lateOnly = new Set([...missingByInvoice].filter(([id, units]) => units === lateUnits.get(customerOf.get(id) ?? "")).map(([id]) => id));
  const unexplained = inv.findings.filter((f) => !(lateOnly.has(f.invoiceId) && (f.check === "usage_billed" || f.check === "line_amount")));
  const lateAfterCloseFindings = inv.findings.length - unexplained.length;
  for (const f of unexplained.slice(0, 5)) examples.push(`invoicing: ${JSON.stringify(f, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}`);
  let paymentsMismatches = 0;
  for (const currency of CURRENCIES) {
    const r = await retrying(() =>
      c.payer.getReconciliation({ currency, range: { start: timestampFromDate(MONTH.start), end: timestampFromDate(new Date(MONTH.end.getTime() + 30 * DAY)) } }),
    );
    const m = r.reconciliation?.mismatches ?? [];
    paymentsMismatches += m.length;
    for (const x of m.slice(0, 3)) examples.push(`payments ${currency}: ${x.kind} ${x.invoiceId} ${x.tallyAmount} vs ${x.providerAmount}`);
  }
  let doubleCharges = 0;
  await inParallel(invoices, 16, async (i) => {
    const attempts = (await retrying(() => c.payer.listPaymentAttempts({ invoiceId: i.id, pageSize: 50 }))).attempts;
    if (attempts.filter((a) => a.status === payments.PaymentStatus.SUCCEEDED).length > 1) doubleCharges++;
  });
  return { invoicingFindings: unexplained.length, invoicingLateAfterCloseFindings: lateAfterCloseFindings, paymentsMismatches, doubleCharges, examples };
}

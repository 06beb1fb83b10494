/**
 * Collections through the local provider (`npm run bench:payments`; N, RATE, SECONDS, WEBHOOKS
 * to tune):
 * 1. throughput: N (10,000) InvoiceFinalized published at once, timed until every
 *    PaymentSucceeded has arrived: collections/s;
 * 2. latency: RATE (200) invoices/s for SECONDS (10): p50/p99/max from InvoiceFinalized
 *    published to PaymentSucceeded received;
 * 3. the same two against a do-nothing consumer of the same stream (the ceiling of NATS, the
 *    consumer loop and this machine), printed as ratios.
 * The provider's share: the mean provider round trip against the mean end-to-end latency, and
 * the summed provider time against the run's wall time × concurrency.
 * Starts payments in-process on a fresh test environment and stripe-local in its own process
 * (a provider answering at once, not sharing payments' event loop); exits by itself.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { startConsumer } from "@tally/platform";
import { PaymentsHarness } from "../src/testing/payments-harness";
import type { PaymentProvider } from "../src/service/payment-provider";

const N = Number(process.env.N ?? 10_000);
const RATE = Number(process.env.RATE ?? 200);
const SECONDS = Number(process.env.SECONDS ?? 10);
const WEBHOOKS = process.env.WEBHOOKS === "1";
const CUSTOMERS = 100;
const CONCURRENCY = 64;

const providerTimes: number[] = [];
/** Where each invoice's time went (latency phase): when its batch reached the handler, its provider call, its batch's size. */
interface Stages {
  handled?: number;
  /** Its attempt committed and handed to the collector (then it waits for a provider slot). */
  dispatched?: number;
  batch?: number;
  chargeStart?: number;
  chargeEnd?: number;
  charges: number;
}
const stages = new Map<string, Stages>();
const stagesOf = (invoiceId: string) => stages.get(invoiceId) ?? (stages.set(invoiceId, { charges: 0 }), stages.get(invoiceId)!);
function timed(provider: PaymentProvider): PaymentProvider {
  return Object.assign(Object.create(provider) as PaymentProvider, {
    async charge(request: Parameters<PaymentProvider["charge"]>[0]) {
      const t = performance.now();
      const s = stagesOf(request.invoiceId);
      s.chargeStart ??= t;
      s.charges++;
      try {
        return await provider.charge(request);
      } finally {
        s.chargeEnd = performance.now();
        providerTimes.push(s.chargeEnd - t);
      }
    },
  });
}

/** Mean time per stage for all latency-phase invoices and for those at or above the p99. */
function stageBreakdown(publishedAt: Map<string, number>, receivedAt: Map<string, number>, p99: number) {
  const rows = [...publishedAt.entries()]
    .filter(([id]) => id.startsWith("blat_"))
    .map(([id, published]) => ({ s: stages.get(id), published, received: receivedAt.get(id) }))
    .filter((r): r is { s: Stages & Required<Omit<Stages, "charges">>; published: number; received: number } => r.received !== undefined && r.s?.chargeEnd !== undefined);
  const summarise = (list: typeof rows) => {
    const m = (f: (r: (typeof rows)[number]) => number) => list.reduce((a, r) => a + f(r), 0) / list.length;
    return {
      n: list.length,
      queued: m((r) => r.s.handled - r.published),
      firstTransaction: m((r) => (r.s.dispatched ?? r.s.chargeStart) - r.s.handled),
      slotWait: m((r) => r.s.chargeStart - (r.s.dispatched ?? r.s.chargeStart)),
      provider: m((r) => r.s.chargeEnd - r.s.chargeStart),
      after: m((r) => r.received - r.s.chargeEnd),
      batch: m((r) => r.s.batch),
      charges: m((r) => r.s.charges),
    };
  };
  return { all: summarise(rows), "slowest 1%": summarise(rows.filter((r) => r.received - r.published >= p99)) };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

async function main(): Promise<void> {
  const h = await PaymentsHarness.create(new Date().toISOString());
  const provider = await stripeLocalProcess();
  const p = await h.start({ stripeApiBase: provider.url, providerConcurrency: CONCURRENCY, stripeTimeoutMs: 30_000, sweepIntervalMs: 1_000, resolveAfterMs: 30_000 }, { webhooks: WEBHOOKS, wrapProvider: timed });
  for (let c = 0; c < CUSTOMERS; c++) await p.client.setDefaultPaymentMethod({ customerId: `bc_${c}`, paymentMethod: "pm_card_visa" });
  const handler = p.app.invoiceEvents;
  const finalized = handler.finalized.bind(handler);
  handler.finalized = async (events) => {
    const now = performance.now();
    for (const e of events) Object.assign(stagesOf(e.invoice!.id), { handled: now, batch: events.length });
    return finalized(events);
  };
  const collector = p.app.collector;
  const dispatch = collector.dispatch.bind(collector);
  collector.dispatch = (attempts) => {
    const now = performance.now();
    for (const a of attempts) stagesOf(a.invoiceId).dispatched = now;
    return dispatch(attempts);
  };
  // Outcome group commits: how many, how large, how long (the collector calls this.applyOutcomes).
  const applyOutcomes = collector.applyOutcomes.bind(collector);
  const commits: { size: number; ms: number }[] = [];
  collector.applyOutcomes = async (outcomes) => {
    const t = performance.now();
    await applyOutcomes(outcomes);
    commits.push({ size: outcomes.length, ms: performance.now() - t });
  };

  const publishedAt = new Map<string, number>();
  const receivedAt = new Map<string, number>();
  const latencies: number[] = [];
  let done = 0;
  let duplicates = 0;
  let onDone: (() => void) | undefined;
  let target = 0;
  /** Ids of the phase being measured: a late PaymentSucceeded of the previous phase is not one of its latencies. */
  let phase = "binv_";
  const seen = h.published.succeeded;
  // Observe PaymentSucceeded as it arrives (the harness decodes every one). Core NATS subscribers
  // also receive publishes JetStream deduplicated (the outbox relay may send a row
  // publishCommitted is still deleting): each invoice counts once, the first time.
  const originalPush = seen.push.bind(seen);
  seen.push = (...events) => {
    for (const e of events) {
      const id = e.attempt!.invoiceId;
      if (receivedAt.has(id)) {
        duplicates++;
        continue;
      }
      receivedAt.set(id, performance.now());
      const t0 = publishedAt.get(id);
      if (t0 !== undefined && id.startsWith(phase)) latencies.push(performance.now() - t0);
      if (++done >= target) onDone?.();
    }
    return originalPush(...events);
  };
  const allDone = (n: number) => new Promise<void>((resolve) => ((target = done + n), (onDone = resolve)));

  // 1. throughput (LATENCY_ONLY=1 skips it: is the latency phase slower behind it?)
  const throughputN = process.env.LATENCY_ONLY === "1" ? 0 : N;
  let waiting = throughputN > 0 ? allDone(throughputN) : Promise.resolve();
  const t0 = performance.now();
  for (let i = 0; i < throughputN; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, throughputN - i) }, (_, k) => {
        const id = `binv_${i + k}`;
        publishedAt.set(id, performance.now());
        return h.finalized(h.invoice(id, `bc_${(i + k) % CUSTOMERS}`, "19.99"));
      }),
    );
  }
  await waiting;
  const elapsed = (performance.now() - t0) / 1000;
  const sweepBacklog = (await p.running.deps.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM attempts WHERE status = 'pending'`)).rows[0]!.n;
  const throughputProvider = providerTimes.splice(0);
  commits.length = 0;
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const mean = (xs: number[]) => sum(xs) / xs.length;
  const throughputLatencyMean = mean(latencies);
  latencies.length = 0;

  // 2. latency at RATE
  phase = "blat_";
  const throughputDuplicates = duplicates;
  const paced = RATE * SECONDS;
  waiting = allDone(paced);
  const start = performance.now();
  for (let i = 0; i < paced; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const id = `blat_${i}`;
    publishedAt.set(id, performance.now());
    void h.finalized(h.invoice(id, `bc_${i % CUSTOMERS}`, "5.00"));
  }
  await waiting;
  const pacedWall = (performance.now() - start) / 1000;
  const sorted = [...latencies].sort((a, b) => a - b);
  const pacedProvider = providerTimes.splice(0);
  const breakdown = stageBreakdown(publishedAt, receivedAt, pct(sorted, 99));
  const pacedCommits = commits.splice(0);
  await p.stop();

  // 3. do-nothing consumer on the same stream
  const baseline = await doNothing(h);
  await h.close();
  provider.child.kill();

  const rate = throughputN / elapsed;
  console.log(`payments collection bench (provider: stripe-local in its own process, webhooks ${WEBHOOKS ? "on" : "off"}, ${CUSTOMERS} customers, concurrency ${CONCURRENCY})`);
  console.log(`  throughput: ${throughputN} invoices in ${elapsed.toFixed(2)} s = ${rate.toFixed(0)} collections/s   (do-nothing consumer: ${baseline.rate.toFixed(0)} msgs/s, ratio ${(rate / baseline.rate).toFixed(3)})`);
  console.log(`    provider: mean ${mean(throughputProvider).toFixed(2)} ms per charge; Σ provider time / (wall × concurrency) = ${((sum(throughputProvider) / 1000 / (elapsed * CONCURRENCY)) * 100).toFixed(1)}%; mean end-to-end ${throughputLatencyMean.toFixed(0)} ms (queueing included)`);
  console.log(
    `  latency at ${RATE}/s for ${SECONDS} s: p50 ${pct(sorted, 50).toFixed(1)} ms  p99 ${pct(sorted, 99).toFixed(1)} ms  max ${sorted.at(-1)!.toFixed(1)} ms   (do-nothing consumer p99 ${baseline.p99.toFixed(1)} ms, ratio ${(pct(sorted, 99) / baseline.p99).toFixed(1)}×)`,
  );
  console.log(`    provider: mean ${mean(pacedProvider).toFixed(2)} ms per charge = ${((mean(pacedProvider) / mean(latencies)) * 100).toFixed(1)}% of the mean end-to-end ${mean(latencies).toFixed(1)} ms`);
  console.log(
    `    attempts still pending when the throughput phase ended: ${sweepBacklog}; PaymentSucceeded received twice (not counted): ${throughputDuplicates} in the throughput phase, ${duplicates - throughputDuplicates} since`,
  );
  console.log(
    `    outcome commits: ${pacedCommits.length}, mean ${mean(pacedCommits.map((c) => c.size)).toFixed(1)} outcomes and ${mean(pacedCommits.map((c) => c.ms)).toFixed(1)} ms each; Σ commit time / phase wall ${((sum(pacedCommits.map((c) => c.ms)) / (pacedWall * 1000)) * 100).toFixed(0)}% (up to 2 overlap)`,
  );
  for (const [label, b] of Object.entries(breakdown)) {
    console.log(
      `    ${label} (${b.n}): queued before the handler ${b.queued.toFixed(0)} ms, attempts' transaction ${b.firstTransaction.toFixed(0)} ms, waiting for a provider slot ${b.slotWait.toFixed(0)} ms, provider ${b.provider.toFixed(0)} ms, ` +
        `provider → PaymentSucceeded received ${b.after.toFixed(0)} ms; batch size ${b.batch.toFixed(0)}; provider calls per invoice ${b.charges.toFixed(2)}`,
    );
  }
  process.exit(0);
}

async function stripeLocalProcess(): Promise<{ url: string; child: ChildProcess }> {
  const root = path.resolve(__dirname, "../../..");
  const child = spawn(process.execPath, ["--require", path.join(root, "tools/ts-node-register.js"), path.join(root, "tools/stripe-local/src/main.ts")], {
    env: { ...process.env, STRIPE_LOCAL_PORT: "0", STRIPE_SECRET_KEY: "sk_test_payments", STRIPE_LOCAL_WEBHOOK_URL: "" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on("data", (d: Buffer) => {
      const m = /listening on (\S+?)(,|\s|$)/.exec(d.toString());
      if (m) resolve(m[1]!);
    });
    child.once("exit", () => reject(new Error("stripe-local exited")));
  });
  return { url, child };
}

/** The same publishes through a durable consumer whose handler does nothing. */
async function doNothing(h: PaymentsHarness): Promise<{ rate: number; p99: number }> {
  const sentAt = new Map<string, number>();
  const lat: number[] = [];
  let count = 0;
  let target = 0;
  let resolve: (() => void) | undefined;
  const consumer = await startConsumer({
    bus: h.env.bus,
    owner: "invoicing",
    durable: "bench-nothing",
    subject: "tally.invoicing.v1.bench.>",
    logger: { debug() {}, info() {}, warn() {}, error() {} } as never,
    handle: async (messages) => {
      for (const m of messages) {
        const t = sentAt.get(new TextDecoder().decode(m.data));
        if (t !== undefined) lat.push(performance.now() - t);
      }
      count += messages.length;
      if (count >= target) resolve?.();
    },
  });
  const payload = new Uint8Array(200);
  const run = (n: number) => new Promise<void>((r) => ((target = count + n), (resolve = r)));
  let waiting = run(N);
  const t0 = performance.now();
  for (let i = 0; i < N; i += 500) await Promise.all(Array.from({ length: Math.min(500, N - i) }, (_, k) => h.env.bus.publish("tally.invoicing.v1.bench.t", payload, `t${i + k}`)));
  await waiting;
  const rate = N / ((performance.now() - t0) / 1000);
  lat.length = 0;
  const paced = RATE * Math.min(SECONDS, 5);
  waiting = run(paced);
  const start = performance.now();
  for (let i = 0; i < paced; i++) {
    const wait = start + (i * 1000) / RATE - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    sentAt.set(`l${i}`, performance.now());
    void h.env.bus.publish("tally.invoicing.v1.bench.l", new TextEncoder().encode(`l${i}`), `l${i}`); // the id travels as the body
  }
  await waiting;
  await consumer.stop();
  const sorted = lat.sort((a, b) => a - b);
  return { rate, p99: pct(sorted, 99) };
}

void main();

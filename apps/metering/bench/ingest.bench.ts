/**
 * Ingest and query benchmark for metering: `npm run bench -w @tally/metering`
 * (or `npm run bench:ingest` at the root).
 *
 * Starts metering in-process on a fresh test environment (its own database and NATS prefix,
 * the real outbox relay publishing to JetStream) and, in the same run, a do-nothing grpc-js
 * server for the same proto as the ceiling. A grpc-js client (proto-loader, no generated code)
 * in a separate process drives both with 50 concurrent callers (BENCH_CONCURRENCY):
 *   1. unary Record: calls/s and p50/p99 latency;
 *   2. RecordBatch of 100 events (what peers' clients send) and of 1,000: durable events/s, p99;
 *   3. QueryUsage over a whole month for one customer with 1,000,000 events, seeded through
 *      RecordBatch (5,000 events per call), i.e. through the real ingest path.
 * Durable means committed in Postgres (synchronous_commit on) before the response. Each phase
 * also prints the CPU per durable event of every process involved (process-cpu.ts).
 */
import * as os from "node:os";
import * as path from "node:path";
import { fork, type ChildProcess } from "node:child_process";
import { startService } from "@tally/platform";
import { Decimal, toWire } from "@tally/pricing";
import { createTestEnvironment, TEST_KEYS } from "@tally/platform/testing";
import { createMeteringService } from "../src/metering-service";
import { startCeilingServer } from "./ceiling-server";
import { callUnary, createMeterClient } from "./grpc-proto";
import type { LoadResult, LoadTask } from "./load-worker";
import { EXITED, OTHER_DATABASES, PhaseCpuMeter, natsServerOn, postmasterOf, type PhaseCpu } from "./process-cpu";

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const PHASE_SECONDS = Number(process.env.BENCH_PHASE_SECONDS ?? 4);
/** `BENCH_WARMUP_SECONDS=0`: no warm-up, like an outside client hitting a fresh server. */
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
/** Peers' clients send at most 100 events per call (Stripe's and Lago's limits); 1,000 is ours at most. */
const BATCH_SIZES = [100, 1_000];
/** Distinct customers in the load phases (the outside run had 50). */
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 1000);
/** `BENCH_METERS=sum-by-model`: only the SUM meter grouped by model, as the outside run had; default also a COUNT meter. */
const METERS = process.env.BENCH_METERS ?? "count,sum-by-model";
/** Bound on waiting for the outbox to drain after a metering phase. */
const DRAIN_TIMEOUT_MS = 60_000;
const MONTH_EVENTS = Number(process.env.BENCH_MONTH_EVENTS ?? 1_000_000);
const SEED_BATCH = 5_000;
const QUERY_REPEATS = 20;
const EVENT_TYPE = "llm.completion";
/** `BENCH_PROFILE=batch100|batch1000|unary`: run only that metering phase (for `node --cpu-prof`), print its rate. */
const PROFILE = process.env.BENCH_PROFILE;
/** `BENCH_BACKFILL=1`: also time CreateMeter of a new meter over everything recorded (it backfills). */
const BACKFILL = process.env.BENCH_BACKFILL === "1";
const MINUTE = 60_000;

/** The load generator's process (load-worker.ts), driven over IPC. */
class LoadProcess {
  private readonly child: ChildProcess;
  constructor() {
    const register = path.resolve(__dirname, "../../../tools/ts-node-register.js");
    this.child = fork(path.resolve(__dirname, "load-worker.ts"), { execArgv: ["--require", register] });
  }
  get pid(): number {
    return this.child.pid!;
  }
  run(task: LoadTask): Promise<LoadResult> {
    return new Promise((resolve, reject) => {
      this.child.once("message", (msg: { ok: boolean; result?: LoadResult; error?: string }) =>
        msg.ok ? resolve(msg.result!) : reject(new Error(msg.error)),
      );
      this.child.send(task);
    });
  }
  stop(): void {
    this.child.kill();
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function stats(r: LoadResult) {
  const lat = [...r.latenciesMs].sort((a, b) => a - b);
  return { perSecond: (r.events * 1000) / r.durationMs, callsPerSecond: (r.calls * 1000) / r.durationMs, p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat[lat.length - 1] ?? NaN };
}

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function adminCall(address: string, method: string, request: unknown): Promise<void> {
  const client = createMeterClient(address);
  try {
    await callUnary(client, method, request, TEST_KEYS.admin);
  } finally {
    client.close();
  }
}

interface Phase {
  result: LoadResult;
  cpu: PhaseCpu;
  /** metering phases: ms after the last response until the outbox was drained (counted in `cpu`) */
  drainMs?: number;
  /** metering phases: transactions committed in this database (pg_stat_database, includes the relay's and the bench's own) */
  commits?: number;
  loadAverage: number[];
}

/**
 * µs per event, split by process. "Server-side" is metering's process, this database's backends,
 * the cluster's own processes (WAL writer, checkpointer, …) and nats-server; not the load
 * generator, nor what other clients of the shared cluster cost (their databases' backends, and
 * the short-lived processes no sample saw, shown apart).
 */
function cpuPerEvent(cpu: PhaseCpu, events: number, unit = "event"): string {
  const us = (ms: number) => fmt((ms * 1000) / Math.max(1, events), 1);
  const apart = (k: string) => cpu.byKind.get(k) ?? 0;
  const postgres = cpu.postgresTotal - apart(OTHER_DATABASES) - apart(EXITED);
  const kinds = [...cpu.byKind].filter(([k, ms]) => k !== OTHER_DATABASES && k !== EXITED && ms > 0).sort((a, b) => b[1] - a[1]);
  return [
    `CPU µs per ${unit}: server-side ${us(cpu.server + postgres + cpu.nats)} = server process ${us(cpu.server)} + postgres ${us(postgres)} + nats-server ${us(cpu.nats)}; load generator ${us(cpu.load)}`,
    `postgres by process: ${kinds.map(([k, ms]) => `${k.replace("postgres ", "")} ${us(ms)}`).join(", ") || "none"}; not counted: other databases' backends ${us(apart(OTHER_DATABASES))}, exited between samples ${us(apart(EXITED))}`,
  ].join("\n          ");
}

const loadAvg = (p: Phase) => p.loadAverage.map((l) => fmt(l, 1)).join(" ");

function check(label: string, r: LoadResult): void {
  if (r.errors > 0) console.error(`  ! ${label}: ${r.errors} failed calls, first: ${r.firstError}`);
}

async function main(): Promise<void> {
  const log = (msg: string) => process.stderr.write(`${msg}\n`);
  const env = await createTestEnvironment();
  const service = await startService(createMeteringService({ backfillDays: 35 }), env.config("metering", { LOG_LEVEL: "warn" }));
  const ceiling = await startCeilingServer();
  const load = new LoadProcess();
  const pool = service.deps.pool;
  try {
    if (METERS.includes("count")) await adminCall(service.address, "createMeter", { meter: { key: "llm_calls", eventType: EVENT_TYPE, aggregation: "AGGREGATION_COUNT" } });
    await adminCall(service.address, "createMeter", {
      meter: { key: "llm_tokens", eventType: EVENT_TYPE, aggregation: "AGGREGATION_SUM", valueProperty: "tokens", groupBy: ["model"] },
    });
    const { rows: who } = await pool.query("SELECT pg_backend_pid() AS pid, current_database() AS db");
    const postmaster = postmasterOf(who[0].pid);
    const nats = natsServerOn(Number(new URL(process.env.NATS_URL ?? "nats://127.0.0.1:4222").port || 4222));
    if (nats.length === 0) log("no nats-server found listening on NATS_URL's port: its CPU is not counted");
    // Work left once the responses are out: the outbox's messages to publish and the pending
    // rollups to fold (RollupFolder, every METERING_ROLLUP_FOLD_MS): both are part of ingest's cost.
    const leftToDo = async () =>
      Number((await pool.query("SELECT (SELECT count(*) FROM outbox) + (SELECT count(*) FROM rollup_pending) AS n")).rows[0].n);
    const drain = async () => {
      const t0 = performance.now();
      while ((await leftToDo()) > 0 && performance.now() - t0 < DRAIN_TIMEOUT_MS) await new Promise((r) => setTimeout(r, 20));
      return performance.now() - t0;
    };
    // Shared-memory statistics reach pg_stat_database up to a second late: force the flush.
    const commitCount = async () =>
      Number((await pool.query("SELECT pg_stat_force_next_flush(), xact_commit AS n FROM pg_stat_database WHERE datname = current_database()")).rows[0].n);

    /** One measured phase; against metering, CPU is counted until the outbox is drained and the rollups folded too (both are part of ingest). */
    const phase = async (task: LoadTask & { address: string }): Promise<Phase> => {
      const meter = new PhaseCpuMeter(postmaster, who[0].db, load.pid, nats);
      const commitsBefore = await commitCount();
      meter.start();
      const result = await load.run(task);
      const drainMs = task.address === service.address ? await drain() : undefined;
      const cpu = meter.stop();
      const commits = task.address === service.address ? (await commitCount()) - commitsBefore : undefined;
      return { result, cpu, drainMs, commits, loadAverage: os.loadavg() };
    };

    const common = { apiKey: TEST_KEYS.ingest, concurrency: CONCURRENCY, customers: CUSTOMERS, eventType: EVENT_TYPE };
    const unaryTask = (address: string, seconds: number, idPrefix: string): LoadTask & { address: string } => ({ kind: "unary", address, seconds, idPrefix, ...common });
    const batchTask = (address: string, seconds: number, batchSize: number, idPrefix: string): LoadTask & { address: string } => ({
      kind: "batch",
      address,
      seconds,
      batchSize,
      idPrefix,
      ...common,
    });
    if (PROFILE) {
      const size = Number(PROFILE.replace("batch", ""));
      const p = await phase(PROFILE === "unary" ? unaryTask(service.address, PHASE_SECONDS, "p") : batchTask(service.address, PHASE_SECONDS, size, "p"));
      const s = stats(p.result);
      process.stdout.write(`${PROFILE}: ${fmt(s.perSecond)} events/s, ${fmt(s.callsPerSecond)} calls/s, p50 ${fmt(s.p50, 1)} ms, p99 ${fmt(s.p99, 1)} ms, errors ${p.result.errors}\n`);
      process.stdout.write(`${cpuPerEvent(p.cpu, p.result.accepted)}\n`);
      return;
    }
    if (WARMUP_SECONDS > 0) {
      log(`warming up (${WARMUP_SECONDS}s per target)…`);
      for (const address of [ceiling.address, service.address]) {
        await load.run(unaryTask(address, WARMUP_SECONDS, `warm-u-${address}`));
        for (const size of BATCH_SIZES) await load.run(batchTask(address, WARMUP_SECONDS, size, `warm-b${size}-${address}`));
      }
      await drain(); // the warm-up's rollups are not the first phase's cost
    }

    log(`unary Record, ${CONCURRENCY} callers, ${PHASE_SECONDS}s each…`);
    const unaryCeiling = await phase(unaryTask(ceiling.address, PHASE_SECONDS, "cu"));
    const unaryMetering = await phase(unaryTask(service.address, PHASE_SECONDS, "mu"));
    check("unary ceiling", unaryCeiling.result);
    check("unary metering", unaryMetering.result);

    const batches: { size: number; ceiling: Phase; metering: Phase }[] = [];
    for (const size of BATCH_SIZES) {
      log(`RecordBatch of ${size}, ${CONCURRENCY} callers, ${PHASE_SECONDS}s each…`);
      const c = await phase(batchTask(ceiling.address, PHASE_SECONDS, size, `cb${size}`));
      const m = await phase(batchTask(service.address, PHASE_SECONDS, size, `mb${size}`));
      check(`batch ${size} ceiling`, c.result);
      check(`batch ${size} metering`, m.result);
      batches.push({ size, ceiling: c, metering: m });
    }

    // Autovacuum may be off (it is on the shared cluster): dead rows left by rollup updates and
    // outbox deletes make every later lookup in those tables walk past them.
    const { rows: deadRows } = await pool.query(
      "SELECT pg_stat_force_next_flush(), relname, n_live_tup AS live, n_dead_tup AS dead FROM pg_stat_user_tables WHERE relname IN ('events', 'usage_rollup', 'outbox') ORDER BY relname",
    );
    const autovacuum = (await pool.query("SHOW autovacuum")).rows[0].autovacuum as string;

    const now = Date.now();
    const toMs = Math.floor(now / MINUTE) * MINUTE;
    const fromMs = toMs - 30 * 24 * 60 * MINUTE;
    log(`seeding ${fmt(MONTH_EVENTS)} events for one customer over 30 days through RecordBatch (${SEED_BATCH}/call, 4 callers)…`);
    const seed = await load.run({
      kind: "seed",
      address: service.address,
      apiKey: TEST_KEYS.ingest,
      total: MONTH_EVENTS,
      batchSize: SEED_BATCH,
      concurrency: 4,
      idPrefix: "month",
      eventType: EVENT_TYPE,
      customerId: "cust_month",
      fromMs,
      toMs,
    });
    check("seed", seed);

    const range = { customerId: "cust_month", from: { seconds: String(fromMs / 1000), nanos: 0 }, to: { seconds: String(toMs / 1000), nanos: 0 } };
    log(`QueryUsage over the month, ${QUERY_REPEATS}× each…`);
    const qCount = METERS.includes("count")
      ? await load.run({ kind: "query", address: service.address, apiKey: TEST_KEYS.read, repeats: QUERY_REPEATS, request: { ...range, meterKey: "llm_calls" } })
      : undefined;
    const qSum = await load.run({ kind: "query", address: service.address, apiKey: TEST_KEYS.read, repeats: QUERY_REPEATS, request: { ...range, meterKey: "llm_tokens", groupBy: ["model"] } });
    const qDaily = await load.run({
      kind: "query",
      address: service.address,
      apiKey: TEST_KEYS.read,
      repeats: QUERY_REPEATS,
      request: { ...range, meterKey: "llm_tokens", windowSize: "WINDOW_SIZE_DAY", timeZone: "America/New_York" },
    });
    for (const [label, r] of [["count", qCount], ["sum", qSum], ["daily", qDaily]] as const) if (r) check(`query ${label}`, r);
    const countRows = (qCount?.lastResponse as { rows: { value: string }[] } | undefined)?.rows ?? [];
    const sumRows = (qSum.lastResponse as { rows: { value: string; group: Record<string, string> }[] } | undefined)?.rows ?? [];
    const dailyRows = (qDaily.lastResponse as { rows: unknown[] } | undefined)?.rows ?? [];
    // Cross-check the answers against the raw events.
    const truth = await pool.query(
      `SELECT count(*)::text AS n, sum((properties->>'tokens')::numeric)::text AS tokens FROM events
       WHERE customer_id = 'cust_month' AND event_time >= $1 AND event_time < $2`,
      [new Date(fromMs), new Date(toMs)],
    );
    const storedEvents = Number((await pool.query("SELECT count(*) AS n FROM events")).rows[0].n);
    let backfill = "";
    if (BACKFILL) {
      log(`CreateMeter over ${fmt(storedEvents)} recorded events (backfill)…`);
      const t0 = performance.now();
      await adminCall(service.address, "createMeter", {
        meter: { key: "llm_tokens_by_region", eventType: EVENT_TYPE, aggregation: "AGGREGATION_SUM", valueProperty: "tokens", groupBy: ["region"] },
      });
      const ms = performance.now() - t0;
      backfill = `backfill: CreateMeter read ${fmt(storedEvents)} recorded events into a new meter's rollups in ${fmt(ms / 1000, 1)} s (${fmt((storedEvents * 1000) / ms)} events/s; recording waits meanwhile)\n`;
    }

    const u = { c: stats(unaryCeiling.result), m: stats(unaryMetering.result) };
    const qc = qCount && stats(qCount);
    const qs = stats(qSum);
    const qd = stats(qDaily);
    const unaryRatio = u.m.callsPerSecond / u.c.callsPerSecond;
    const pass = (ok: boolean) => (ok ? "PASS" : "MISS");
    const rows: string[][] = [
      ["measure", "ceiling (no-op grpc-js)", "metering", "ratio", "target", ""],
      ["unary Record calls/s", fmt(u.c.callsPerSecond), fmt(u.m.callsPerSecond), `${fmt(unaryRatio * 100)} %`, "≥ 50 % of ceiling", pass(unaryRatio >= 0.5)],
      ["unary latency p50 / p99 (ms)", `${fmt(u.c.p50, 1)} / ${fmt(u.c.p99, 1)}`, `${fmt(u.m.p50, 1)} / ${fmt(u.m.p99, 1)}`, `p99 ${fmt(u.m.p99 / u.c.p99, 2)}×`, "p99 ≤ 1.5× ceiling's", pass(u.m.p99 <= 1.5 * u.c.p99)],
      ...batches.flatMap(({ size, ceiling: c, metering: m }) => {
        const b = { c: stats(c.result), m: stats(m.result) };
        const ratio = b.m.perSecond / b.c.perSecond;
        return [
          [`RecordBatch(${fmt(size)}) events/s`, fmt(b.c.perSecond), fmt(b.m.perSecond), `${fmt(ratio * 100)} %`, "≥ 50,000 and ≥ 40 %", pass(b.m.perSecond >= 50_000 && ratio >= 0.4)],
          [`RecordBatch(${fmt(size)}) latency p50 / p99 (ms)`, `${fmt(b.c.p50, 1)} / ${fmt(b.c.p99, 1)}`, `${fmt(b.m.p50, 1)} / ${fmt(b.m.p99, 1)}`, `p99 ${fmt(b.m.p99 / b.c.p99, 2)}×`, "", ""],
        ];
      }),
      ...(qc ? [[`QueryUsage month, COUNT (${countRows.length} row) p50 / max (ms)`, "", `${fmt(qc.p50, 1)} / ${fmt(qc.max, 1)}`, "", "< 250 ms", pass(qc.max < 250)]] : []),
      [`QueryUsage month, SUM by model (${sumRows.length} rows) p50 / max (ms)`, "", `${fmt(qs.p50, 1)} / ${fmt(qs.max, 1)}`, "", "< 250 ms", pass(qs.max < 250)],
      [`QueryUsage month, SUM per NY day (${dailyRows.length} rows) p50 / max (ms)`, "", `${fmt(qd.p50, 1)} / ${fmt(qd.max, 1)}`, "", "< 250 ms", pass(qd.max < 250)],
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) => `| ${r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(" | ")} |`;
    const out = [
      "",
      `Metering ingest benchmark — ${CONCURRENCY} concurrent grpc-js callers (separate process), ${PHASE_SECONDS}s per phase, ${fmt(CUSTOMERS)} customers, meters ${METERS}, warm-up ${WARMUP_SECONDS}s, synchronous_commit=on, server V8 flags: ${process.execArgv.filter((a) => a.startsWith("--") && a !== "--require").join(" ") || "none"}`,
      line(rows[0]!),
      `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
      ...rows.slice(1).map(line),
      "",
      `unary:  ${fmt(unaryMetering.result.accepted)} accepted / ${fmt(unaryMetering.result.calls)} calls, ${unaryMetering.result.errors} errors, ${fmt(unaryMetering.commits ?? 0)} commits in the database, outbox drained and rollups folded ${fmt(unaryMetering.drainMs ?? 0)} ms after the phase; load average ${loadAvg(unaryMetering)}`,
      `  metering ${cpuPerEvent(unaryMetering.cpu, unaryMetering.result.accepted, "call")}`,
      `  ceiling  ${cpuPerEvent(unaryCeiling.cpu, unaryCeiling.result.calls, "call")}`,
      ...batches.flatMap(({ size, ceiling: c, metering: m }) => [
        `batch ${fmt(size)}: ${fmt(m.result.accepted)} accepted events / ${fmt(m.result.events)} sent in ${fmt(m.result.calls)} calls, ${m.result.errors} errors, ${fmt(m.commits ?? 0)} commits in the database (${fmt(m.result.accepted / Math.max(1, m.commits ?? 0))} events each), outbox drained and rollups folded ${fmt(m.drainMs ?? 0)} ms after the phase; load average ${loadAvg(m)}`,
        `  metering ${cpuPerEvent(m.cpu, m.result.accepted)}`,
        `  ceiling  ${cpuPerEvent(c.cpu, c.result.events)}`,
      ]),
      `(durable events only: accepted and committed; CPU counted from the phase's start until the outbox is empty and the rollups folded; sampling /proc took ${fmt(batches.reduce((t, b) => t + b.metering.cpu.samplerCost, 0), 1)} ms of CPU over the metering batch phases, taken out of the server process's figure)`,
      `tables after the load phases (autovacuum ${autovacuum}): ${deadRows.map((r: { relname: string; live: string; dead: string }) => `${r.relname} ${fmt(Number(r.live))} live / ${fmt(Number(r.dead))} dead rows`).join(", ")}`,
      `seed:   ${fmt(seed.accepted)} events for cust_month over 30 days via RecordBatch(${fmt(SEED_BATCH)}) × 4 callers in ${fmt(seed.durationMs / 1000, 1)} s = ${fmt((seed.accepted * 1000) / seed.durationMs)} events/s`,
      `query:  COUNT = ${countRows[0]?.value ?? "?"} (raw events: ${truth.rows[0].n}); SUM over models = ${toWire(sumRows.reduce((s, r) => s.plus(r.value), new Decimal(0)))} (raw: ${truth.rows[0].tokens})`,
      `stored: ${fmt(storedEvents)} events in metering.events`,
      backfill,
    ];
    process.stdout.write(out.join("\n"));
  } finally {
    load.stop();
    await ceiling.stop();
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

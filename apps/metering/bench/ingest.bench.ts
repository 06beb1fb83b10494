/**
 * Ingest and query benchmark for metering: `npm run bench -w @tally/metering`
 * (or `npm run bench:ingest` at the root).
 *
 * Starts metering in-process on a fresh test environment (its own database and NATS prefix,
 * the real outbox relay publishing to JetStream) and, in the same run, a do-nothing grpc-js
 * server for the same proto as the ceiling. A grpc-js client (proto-loader, no generated code)
 * in a separate process drives both with 50 concurrent callers:
 *   1. unary Record: calls/s and p50/p99 latency;
 *   2. RecordBatch of 1,000 events: durable events/s;
 *   3. QueryUsage over a whole month for one customer with 1,000,000 events, seeded through
 *      RecordBatch (5,000 events per call), i.e. through the real ingest path.
 * Durable means committed in Postgres (synchronous_commit on) before the response.
 */
import * as fs from "node:fs";
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

const CONCURRENCY = 50;
const PHASE_SECONDS = Number(process.env.BENCH_PHASE_SECONDS ?? 4);
const WARMUP_SECONDS = 1;
const BATCH_SIZE = 1_000;
const MONTH_EVENTS = Number(process.env.BENCH_MONTH_EVENTS ?? 1_000_000);
const SEED_BATCH = 5_000;
const QUERY_REPEATS = 20;
const EVENT_TYPE = "llm.completion";
/** `BENCH_PROFILE=batch|unary`: run only that metering phase (for `node --cpu-prof`), print its rate. */
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

/**
 * CPU time so far (ms) of this process (the servers), of the load generator's process, of the
 * Postgres backends serving this benchmark's database and of nats-server: CPU per event is far
 * less sensitive than events/s to other work on the machine.
 */
interface CpuSnapshot {
  server: number;
  load: number;
  /** Per backend pid: backends may come and go during a phase. */
  postgres: Map<number, number>;
  nats: number;
}

const TICK_MS = 1000 / 100; // USER_HZ

function procCpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime, stime
  } catch {
    return 0; // gone, or no /proc
  }
}

async function cpuSnapshot(pool: { query(sql: string): Promise<{ rows: { pid: number }[] }> }, load: LoadProcess): Promise<CpuSnapshot> {
  const { rows } = await pool.query("SELECT pid FROM pg_stat_activity WHERE datname = current_database()");
  let nats = 0;
  try {
    for (const pid of fs.readdirSync("/proc").filter((d) => /^[0-9]+$/.test(d))) {
      if (fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "nats-server") nats += procCpuMs(Number(pid));
    }
  } catch {
    // no /proc
  }
  const usage = process.cpuUsage();
  return { server: (usage.user + usage.system) / 1000, load: procCpuMs(load.pid), postgres: new Map(rows.map((r) => [r.pid, procCpuMs(r.pid)])), nats };
}

function cpuPerEvent(before: CpuSnapshot, after: CpuSnapshot, events: number): string {
  let postgres = 0;
  for (const [pid, ms] of after.postgres) postgres += ms - (before.postgres.get(pid) ?? 0);
  const us = (ms: number) => fmt((ms * 1000) / Math.max(1, events), 1);
  return `CPU per event: server process ${us(after.server - before.server)} µs, load generator ${us(after.load - before.load)} µs, postgres backends ${us(postgres)} µs, nats-server ${us(after.nats - before.nats)} µs`;
}

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
    await adminCall(service.address, "createMeter", { meter: { key: "llm_calls", eventType: EVENT_TYPE, aggregation: "AGGREGATION_COUNT" } });
    await adminCall(service.address, "createMeter", {
      meter: { key: "llm_tokens", eventType: EVENT_TYPE, aggregation: "AGGREGATION_SUM", valueProperty: "tokens", groupBy: ["model"] },
    });

    const common = { apiKey: TEST_KEYS.ingest, concurrency: CONCURRENCY, eventType: EVENT_TYPE };
    if (PROFILE === "batch" || PROFILE === "unary") {
      const cpuBefore = await cpuSnapshot(pool, load);
      const r = await load.run(
        PROFILE === "batch"
          ? { kind: "batch", address: service.address, seconds: PHASE_SECONDS, batchSize: BATCH_SIZE, idPrefix: "p", ...common }
          : { kind: "unary", address: service.address, seconds: PHASE_SECONDS, idPrefix: "p", ...common },
      );
      const s = stats(r);
      const cpuAfter = await cpuSnapshot(pool, load);
      process.stdout.write(`${PROFILE}: ${fmt(s.perSecond)} events/s, ${fmt(s.callsPerSecond)} calls/s, p50 ${fmt(s.p50, 1)} ms, p99 ${fmt(s.p99, 1)} ms, errors ${r.errors}\n`);
      process.stdout.write(`${cpuPerEvent(cpuBefore, cpuAfter, r.events)}\n`);
      return;
    }
    log(`warming up (${WARMUP_SECONDS}s per target)…`);
    for (const address of [ceiling.address, service.address]) {
      await load.run({ kind: "unary", address, seconds: WARMUP_SECONDS, idPrefix: `warm-u-${address}`, ...common });
      await load.run({ kind: "batch", address, seconds: WARMUP_SECONDS, batchSize: BATCH_SIZE, idPrefix: `warm-b-${address}`, ...common });
    }

    log(`unary Record, ${CONCURRENCY} callers, ${PHASE_SECONDS}s each…`);
    const unaryCeilingCpuBefore = await cpuSnapshot(pool, load);
    const unaryCeiling = await load.run({ kind: "unary", address: ceiling.address, seconds: PHASE_SECONDS, idPrefix: "cu", ...common });
    const unaryCeilingCpu = cpuPerEvent(unaryCeilingCpuBefore, await cpuSnapshot(pool, load), unaryCeiling.events);
    const unaryCpuBefore = await cpuSnapshot(pool, load);
    const unaryMetering = await load.run({ kind: "unary", address: service.address, seconds: PHASE_SECONDS, idPrefix: "mu", ...common });
    const unaryCpu = cpuPerEvent(unaryCpuBefore, await cpuSnapshot(pool, load), unaryMetering.events);
    check("unary ceiling", unaryCeiling);
    check("unary metering", unaryMetering);

    log(`RecordBatch of ${BATCH_SIZE}, ${CONCURRENCY} callers, ${PHASE_SECONDS}s each…`);
    const ceilingCpuBefore = await cpuSnapshot(pool, load);
    const batchCeiling = await load.run({ kind: "batch", address: ceiling.address, seconds: PHASE_SECONDS, batchSize: BATCH_SIZE, idPrefix: "cb", ...common });
    const ceilingCpu = cpuPerEvent(ceilingCpuBefore, await cpuSnapshot(pool, load), batchCeiling.events);
    const cpuBefore = await cpuSnapshot(pool, load);
    const batchMetering = await load.run({ kind: "batch", address: service.address, seconds: PHASE_SECONDS, batchSize: BATCH_SIZE, idPrefix: "mb", ...common });
    const batchCpu = cpuPerEvent(cpuBefore, await cpuSnapshot(pool, load), batchMetering.events);
    check("batch ceiling", batchCeiling);
    check("batch metering", batchMetering);
    const outboxAfterBatch = Number((await pool.query("SELECT count(*) AS n FROM outbox")).rows[0].n);

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
    const qCount = await load.run({ kind: "query", address: service.address, apiKey: TEST_KEYS.read, repeats: QUERY_REPEATS, request: { ...range, meterKey: "llm_calls" } });
    const qSum = await load.run({ kind: "query", address: service.address, apiKey: TEST_KEYS.read, repeats: QUERY_REPEATS, request: { ...range, meterKey: "llm_tokens", groupBy: ["model"] } });
    const qDaily = await load.run({
      kind: "query",
      address: service.address,
      apiKey: TEST_KEYS.read,
      repeats: QUERY_REPEATS,
      request: { ...range, meterKey: "llm_tokens", windowSize: "WINDOW_SIZE_DAY", timeZone: "America/New_York" },
    });
    for (const [label, r] of [["count", qCount], ["sum", qSum], ["daily", qDaily]] as const) check(`query ${label}`, r);
    const countRows = (qCount.lastResponse as { rows: { value: string }[] } | undefined)?.rows ?? [];
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

    const u = { c: stats(unaryCeiling), m: stats(unaryMetering) };
    const b = { c: stats(batchCeiling), m: stats(batchMetering) };
    const qc = stats(qCount);
    const qs = stats(qSum);
    const qd = stats(qDaily);
    const unaryRatio = u.m.callsPerSecond / u.c.callsPerSecond;
    const batchRatio = b.m.perSecond / b.c.perSecond;
    const pass = (ok: boolean) => (ok ? "PASS" : "MISS");
    const rows: string[][] = [
      ["measure", "ceiling (no-op grpc-js)", "metering", "ratio", "target", ""],
      ["unary Record calls/s", fmt(u.c.callsPerSecond), fmt(u.m.callsPerSecond), `${fmt(unaryRatio * 100)} %`, "≥ 50 % of ceiling", pass(unaryRatio >= 0.5)],
      ["unary latency p50 / p99 (ms)", `${fmt(u.c.p50, 1)} / ${fmt(u.c.p99, 1)}`, `${fmt(u.m.p50, 1)} / ${fmt(u.m.p99, 1)}`, "", "p99 < 25 ms", pass(u.m.p99 < 25)],
      [`RecordBatch(${fmt(BATCH_SIZE)}) events/s`, fmt(b.c.perSecond), fmt(b.m.perSecond), `${fmt(batchRatio * 100)} %`, "≥ 50,000 and ≥ 40 %", pass(b.m.perSecond >= 50_000 && batchRatio >= 0.4)],
      ["RecordBatch latency p50 / p99 (ms)", `${fmt(b.c.p50, 1)} / ${fmt(b.c.p99, 1)}`, `${fmt(b.m.p50, 1)} / ${fmt(b.m.p99, 1)}`, "", "", ""],
      [`QueryUsage month, COUNT (${countRows.length} row) p50 / max (ms)`, "", `${fmt(qc.p50, 1)} / ${fmt(qc.max, 1)}`, "", "< 250 ms", pass(qc.max < 250)],
      [`QueryUsage month, SUM by model (${sumRows.length} rows) p50 / max (ms)`, "", `${fmt(qs.p50, 1)} / ${fmt(qs.max, 1)}`, "", "< 250 ms", pass(qs.max < 250)],
      [`QueryUsage month, SUM per NY day (${dailyRows.length} rows) p50 / max (ms)`, "", `${fmt(qd.p50, 1)} / ${fmt(qd.max, 1)}`, "", "< 250 ms", pass(qd.max < 250)],
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) => `| ${r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(" | ")} |`;
    const out = [
      "",
      `Metering ingest benchmark — ${CONCURRENCY} concurrent grpc-js callers (separate process), ${PHASE_SECONDS}s per phase, synchronous_commit=on, server V8 flags: ${process.execArgv.filter((a) => a.startsWith("--") && a !== "--require").join(" ") || "none"}`,
      line(rows[0]!),
      `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
      ...rows.slice(1).map(line),
      "",
      `unary:  ${fmt(unaryMetering.accepted)} accepted / ${fmt(unaryMetering.calls)} calls, ${unaryMetering.errors} errors`,
      `        ${unaryCpu.replace("per event", "per call")}; ceiling phase: ${unaryCeilingCpu.replace("CPU per event: ", "")}`,
      `batch:  ${fmt(batchMetering.accepted)} accepted events / ${fmt(batchMetering.events)} sent, ${batchMetering.errors} errors; outbox rows not yet published right after the phase: ${fmt(outboxAfterBatch)}`,
      `        ${batchCpu}; ceiling phase: ${ceilingCpu.replace("CPU per event: ", "")}; load average ${os.loadavg().map((l) => fmt(l, 2)).join(" ")}`,
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

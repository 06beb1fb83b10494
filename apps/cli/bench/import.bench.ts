/**
 * `tally import` throughput: `npm run bench:import` at the root (or `npm run bench -w @tally/cli`).
 *
 * Generates an NDJSON file of BENCH_IMPORT_EVENTS events (default 500,000; 200 customers, two
 * models, times spread over the last BENCH_IMPORT_SPREAD_MINUTES, default 60), starts metering in-process on a fresh test
 * environment (its own database and NATS prefix) and, in the same run, a do-nothing grpc-js
 * server. Then, each in its own process:
 *   1. the real CLI (`tally import`, as a user would; its own timer starts after start-up) into the
 *      do-nothing server: what the CLI alone can send;
 *   2. the ceiling: metering's RecordBatch driven directly (record-batch-direct.ts: the same
 *      events, batch size and calls in flight, encoded before its clock starts, no file);
 *   3. `tally import` into metering;
 *   4. the ceiling again (so a change of load during the run shows as two different ceilings).
 * The import's rate over the mean ceiling is the share of metering's ingest the CLI gets through:
 * the CLI's overhead as a ratio, meaningful on a loaded machine where absolute rates are not.
 * Finally checks, through QueryUsage, that metering counted every imported event exactly once.
 *
 * CPU time per event swings much less than events/s, so it is printed per process (the CLI,
 * metering, the Postgres backends of the bench's database), with the throughput those costs allow
 * on otherwise idle cores. BENCH_IMPORT_CLI runs another `main.ts` (e.g. an older tree's) for
 * before/after comparisons.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFile } from "node:child_process";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { metering } from "@tally/contracts";
import { createServiceClient, startService } from "@tally/platform";
import { createTestEnvironment, TEST_KEYS } from "@tally/platform/testing";
import { createMeteringService } from "../../../test/support/services";
import type { ImportResult } from "../src/import/importer";
import { startDoNothingServer } from "./do-nothing-server";

const EVENTS = Number(process.env.BENCH_IMPORT_EVENTS ?? 500_000);
const SPREAD_MS = Number(process.env.BENCH_IMPORT_SPREAD_MINUTES ?? 60) * 60_000;
const CUSTOMERS = 200;
const TYPE = "llm.completion";
const CONCURRENCY = process.env.BENCH_IMPORT_CONCURRENCY ?? "8";
const BATCH = process.env.BENCH_IMPORT_BATCH ?? "1000";
/** The CLI from its sources, as `npx tally` runs it before a build (a stale dist/ cannot skew the figures). */
const MAIN = path.resolve(process.env.BENCH_IMPORT_CLI ?? path.resolve(__dirname, "../src/main.ts"));
const DIRECT = path.resolve(__dirname, "record-batch-direct.ts");
const REGISTER = path.resolve(__dirname, "../../../tools/ts-node-register.js");

function generate(file: string): void {
  const now = Date.now();
  const fd = fs.openSync(file, "w");
  const run = Date.now().toString(36);
  let chunk = "";
  for (let i = 0; i < EVENTS; i++) {
    const time = new Date(now - 60_000 - Math.floor((i / EVENTS) * SPREAD_MS)).toISOString();
    chunk += `{"id":"b${run}_${i}","customer_id":"cus_${i % CUSTOMERS}","event_type":"${TYPE}","time":"${time}","properties":{"model":"${i % 3 ? "gpt-4o" : "claude"}","tokens":"${(i % 2000) + 1}"}}\n`;
    if (chunk.length > 1 << 20) {
      fs.writeSync(fd, chunk);
      chunk = "";
    }
  }
  fs.writeSync(fd, chunk);
  fs.closeSync(fd);
}

function tallyImport(file: string, address: string): Promise<ImportResult> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ["--require", REGISTER, MAIN, "import", file, "--restart", "--json", "--batch-size", BATCH, "--concurrency", CONCURRENCY, "--metering", address, "--key", TEST_KEYS.ingest],
      { maxBuffer: 16 << 20 },
      (err, stdout, stderr) => (err ? reject(new Error(`tally import failed: ${stderr || err.message}`)) : resolve(JSON.parse(stdout) as ImportResult)),
    ),
  );
}

interface DirectResult {
  elapsedMs: number;
  eventsPerSecond: number;
  accepted: number;
  cpuMs: number;
}

/** The ceiling: RecordBatch driven directly from its own process (record-batch-direct.ts). */
function directRecordBatch(address: string, run: string): Promise<DirectResult> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ["--require", REGISTER, DIRECT, address, TEST_KEYS.ingest, String(EVENTS), BATCH, CONCURRENCY, run],
      { maxBuffer: 1 << 20 },
      (err, stdout, stderr) => (err ? reject(new Error(`direct RecordBatch failed: ${stderr || err.message}`)) : resolve(JSON.parse(stdout) as DirectResult)),
    ),
  );
}

async function countedEvents(address: string): Promise<number> {
  const { client, close } = createServiceClient(metering.Meter, address, TEST_KEYS.read);
  try {
    let total = 0;
    const from = timestampFromMs(Math.floor((Date.now() - SPREAD_MS - 3_600_000) / 60_000) * 60_000);
    for (let c = 0; c < CUSTOMERS; c++) {
      const { rows } = await client.queryUsage({ customerId: `cus_${c}`, meterKey: "calls", from, windowSize: metering.WindowSize.NONE });
      total += Number(rows[0]?.value ?? 0);
    }
    return total;
  } finally {
    close();
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

const TICK_MS = 10; // USER_HZ = 100

/** CPU ms so far of each Postgres backend serving the bench's database (from /proc; empty elsewhere). */
async function postgresCpu(pool: { query(sql: string): Promise<{ rows: { pid: number }[] }> }): Promise<Map<number, number>> {
  const { rows } = await pool.query("SELECT pid FROM pg_stat_activity WHERE datname = current_database()");
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      cpu.set(pid, (Number(fields[11]) + Number(fields[12])) * TICK_MS);
    } catch {
      // gone, or no /proc
    }
  }
  return cpu;
}

async function main(): Promise<void> {
  const log = (msg: string) => process.stderr.write(`${msg}\n`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tally-bench-import-"));
  const file = path.join(dir, "events.ndjson");
  log(`generating ${fmt(EVENTS)} events…`);
  generate(file);
  const env = await createTestEnvironment();
  const service = await startService(createMeteringService(), env.config("metering", { LOG_LEVEL: "warn" }));
  const baseline = await startDoNothingServer();
  const admin = createServiceClient(metering.Meter, service.address, TEST_KEYS.admin);
  try {
    await admin.client.createMeter({ meter: { key: "calls", eventType: TYPE, aggregation: metering.Aggregation.COUNT } });
    await admin.client.createMeter({ meter: { key: "tokens", eventType: TYPE, aggregation: metering.Aggregation.SUM, valueProperty: "tokens", groupBy: ["model"] } });
    log(`file: ${fmt(fs.statSync(file).size / 1e6)} MB; importing into the do-nothing server…`);
    const base = await tallyImport(file, baseline.address);
    const run = Date.now().toString(36);
    log("ceiling: RecordBatch driven directly into metering…");
    const ceilingBefore = await directRecordBatch(service.address, `d1${run}`);
    log("importing into metering…");
    const cpuBefore = process.cpuUsage();
    const pgBefore = await postgresCpu(service.deps.pool);
    const real = await tallyImport(file, service.address);
    const cpu = process.cpuUsage(cpuBefore);
    const pgAfter = await postgresCpu(service.deps.pool);
    log("ceiling again…");
    const ceilingAfter = await directRecordBatch(service.address, `d2${run}`);
    let pgMs = 0;
    for (const [pid, ms] of pgAfter) pgMs += ms - (pgBefore.get(pid) ?? 0);
    const perEvent = { cli: (real.cpuMs * 1000) / EVENTS, metering: (cpu.user + cpu.system) / EVENTS, postgres: (pgMs * 1000) / EVENTS };
    const total = perEvent.cli + perEvent.metering + perEvent.postgres;
    const counted = await countedEvents(service.address);
    const rss = process.memoryUsage.rss();
    const ceiling = (ceilingBefore.eventsPerSecond + ceilingAfter.eventsPerSecond) / 2;
    const direct = [ceilingBefore, ceilingAfter];
    process.stdout.write(
      [
        `tally import of ${fmt(EVENTS)} NDJSON events (batches of ${BATCH}, ${CONCURRENCY} in flight, CLI in its own process${process.env.BENCH_IMPORT_CLI ? `, CLI ${MAIN}` : ""}):`,
        `  CLI alone, into a do-nothing server: ${fmt(base.eventsPerSecond)} events/s (${(base.elapsedMs / 1000).toFixed(1)} s, CLI CPU ${((base.cpuMs * 1000) / EVENTS).toFixed(1)} µs/event)`,
        `  ceiling, metering RecordBatch driven directly (no file, pre-encoded): ${direct.map((d) => fmt(d.eventsPerSecond)).join(" before, ")} after → ${fmt(ceiling)} events/s`,
        `  tally import into metering (durable in Postgres, published to JetStream): ${fmt(real.eventsPerSecond)} events/s (${(real.elapsedMs / 1000).toFixed(1)} s) = ${((100 * real.eventsPerSecond) / ceiling).toFixed(0)}% of the ceiling`,
        `  metering accepted ${fmt(real.totals.accepted)}, duplicate ${fmt(real.totals.duplicate)}, rejected ${fmt(real.totals.rejected + real.totals.conflict + real.totals.unreadable)}; QueryUsage counts ${fmt(counted)} events ${counted === EVENTS ? "(every event exactly once)" : "(MISMATCH)"}; direct runs accepted ${direct.map((d) => fmt(d.accepted)).join(" and ")}`,
        `  CPU per event during the import: CLI ${perEvent.cli.toFixed(1)} µs, metering ${perEvent.metering.toFixed(1)} µs, Postgres backends ${perEvent.postgres.toFixed(1)} µs (nats-server not counted: shared); direct driver ${direct.map((d) => ((d.cpuMs * 1000) / EVENTS).toFixed(1)).join(" / ")} µs`,
        `  → on ${os.cpus().length} otherwise idle cores these costs allow about ${fmt((os.cpus().length * 1e6) / total)} events/s; bench process RSS ${fmt(rss / 1e6)} MB`,
        `  load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")} on ${os.cpus().length} cores (events/s swing with other work on the machine)`,
      ].join("\n") + "\n",
    );
    if (counted !== EVENTS || real.totals.accepted !== EVENTS || direct.some((d) => d.accepted !== EVENTS)) process.exitCode = 1;
  } finally {
    admin.close();
    await baseline.stop();
    await service.stop();
    await env.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

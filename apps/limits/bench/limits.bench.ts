/**
 * Limits.Check under open-loop load, each phase run against a do-nothing
 * grpc-js server on the same .proto and then against limits, in the same run,
 * so every figure is printed beside its same-moment baseline:
 *
 *   npm run bench:limits     (SECONDS per phase, default 5; WARMUP_SECONDS 1;
 *                             CUSTOMERS 200; DEADLINE_MS 1000; PHASES to pick;
 *                             RATE_SCALE to scale every rate, default 1;
 *                             CPU_PROFILE=<dir> writes a .cpuprofile of this
 *                             process per measured run, <phase>-<server>)
 *
 * Phases: plain Check at 500/s and 2,000/s, reserving Check at 1,000/s, and
 * an overload of plain Checks at 4,000/s (more than this box can serve: the
 * server must shed fast — RESOURCE_EXHAUSTED/UNAVAILABLE well within the
 * deadline — and never answer INTERNAL).
 *
 * The client is its own process (load-generator.ts, forked per phase): calls
 * are scheduled at a fixed rate and latency is measured from each call's
 * scheduled time. Both servers live in this process, which does nothing else
 * during a phase, so this process's CPU time over a phase divided by the
 * calls answered is the server's CPU per call (the do-nothing handler's is
 * the transport's own cost). Postgres' CPU is not in it. Exits by itself.
 */
import { fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import * as os from "node:os";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { startService } from "@tally/platform";
import { createTestEnvironment, TEST_KEYS } from "@tally/platform/testing";
import { limitsService } from "../src/limits-service";
import { checksShed } from "../src/service/check-admission";
import { eventually, RatingEvents } from "../src/testing/rating-events";
import { createLimitsClient, type LoadResult, type LoadSpec } from "./load-generator";

const SECONDS = Number(process.env.SECONDS ?? 5);
const WARMUP_SECONDS = Number(process.env.WARMUP_SECONDS ?? 1);
const CUSTOMERS = Number(process.env.CUSTOMERS ?? 200);
const DEADLINE_MS = Number(process.env.DEADLINE_MS ?? 1000);
/** Multiplies every phase's rate: on a shared, busy box even the do-nothing server cannot keep 500/s. */
const RATE_SCALE = Number(process.env.RATE_SCALE ?? 1);
const PERIOD = { periodStart: "2026-01-01T00:00:00Z", periodEnd: "2099-01-01T00:00:00Z" };

interface Phase {
  name: string;
  rate: number;
  reserve: boolean;
  /** Ratio targets (issue 17); none for the overload phase, judged by shedding instead. */
  p99Target?: number;
  cpuTarget?: number;
}

const ALL_PHASES: Phase[] = [
  { name: "check-500", rate: 500, reserve: false, p99Target: 2, cpuTarget: 1.5 },
  { name: "check-2000", rate: 2000, reserve: false, p99Target: 2, cpuTarget: 1.5 },
  { name: "reserve-1000", rate: 1000, reserve: true, p99Target: 3 },
  { name: "overload-4000", rate: 4000, reserve: false },
];
const PHASES = (process.env.PHASES ? ALL_PHASES.filter((p) => process.env.PHASES!.split(",").includes(p.name)) : ALL_PHASES).map((p) => ({
  ...p,
  rate: Math.round(p.rate * RATE_SCALE),
}));

const CPU_PROFILE = process.env.CPU_PROFILE;

/** Profiles this process (both servers live here) while `work` runs, into CPU_PROFILE/<name>.cpuprofile. */
async function profiled<T>(name: string, work: () => Promise<T>): Promise<T> {
  if (!CPU_PROFILE) return work();
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  try {
    return await work();
  } finally {
    const { profile } = await session.post("Profiler.stop");
    mkdirSync(CPU_PROFILE, { recursive: true });
    writeFileSync(path.join(CPU_PROFILE, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

/** One load run in a child process; returns its result and this process's CPU time (ms) meanwhile. */
async function inChild(spec: LoadSpec): Promise<{ result: LoadResult; cpuMs: number }> {
  const register = path.resolve(__dirname, "../../../tools/ts-node-register.js");
  const child = fork(path.join(__dirname, "load-generator.ts"), [], { execArgv: ["--require", register], stdio: "inherit" });
  const cpuBefore = process.cpuUsage();
  return new Promise((resolve, reject) => {
    child.once("message", (m: { result?: LoadResult; error?: string }) => {
      const cpu = process.cpuUsage(cpuBefore);
      if (m.result) resolve({ result: m.result, cpuMs: (cpu.user + cpu.system) / 1000 });
      else reject(new Error(m.error));
    });
    child.once("error", reject);
    child.send(spec);
  });
}

/** A grpc-js server on the same .proto whose Check does nothing: the ceiling of client, transport and machine right now. */
async function doNothingServer(): Promise<{ address: string; stop: () => void }> {
  const definition = protoLoader.loadSync("tally/limits/v1/limits.proto", { includeDirs: [path.resolve(__dirname, "../../../proto")] });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { tally: { limits: { v1: { Limits: grpc.ServiceClientConstructor } } } };
  const server = new grpc.Server();
  server.addService(pkg.tally.limits.v1.Limits.service, {
    check: (_call: unknown, callback: grpc.sendUnaryData<object>) => callback(null, { allowed: true }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { address: `127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}

function unary(fn: (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: { allowed: boolean }) => void) => void, req: object) {
  const md = new grpc.Metadata();
  md.set("authorization", `Bearer ${TEST_KEYS.all}`);
  return new Promise<{ allowed: boolean }>((resolve, reject) => fn(req, md, {}, (err, res) => (err ? reject(err) : resolve(res))));
}

const ms = (n: number) => (Number.isFinite(n) ? `${n.toFixed(1)} ms` : "—");
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : "—");

function line(label: string, r: LoadResult, cpuMs: number): string {
  const answered = Object.values(r.codes).reduce((a, b) => a + b, 0);
  const errors = Object.entries(r.codes).filter(([c]) => c !== "OK").map(([c, n]) => `${c} ${n}`).join(", ");
  return (
    `    ${label.padEnd(11)} ok ${r.rate.toFixed(0).padStart(4)}/s  p50 ${ms(r.p50).padStart(9)}  p99 ${ms(r.p99).padStart(9)}  max ${ms(r.max).padStart(9)}  ` +
    `cpu/call ${((cpuMs / Math.max(1, answered)) * 1000).toFixed(0).padStart(4)} µs${errors ? `  errors: ${errors}` : ""}` +
    (r.shedP99 === r.shedP99 ? `  shed p99 ${ms(r.shedP99)}` : "")
  );
}

async function main(): Promise<void> {
  const env = await createTestEnvironment();
  const running = await startService(limitsService, env.config("limits", { LOG_LEVEL: "warn" }));
  const nothing = await doNothingServer();
  const events = new RatingEvents(env.bus);
  const customers = Array.from({ length: CUSTOMERS }, (_, i) => `bench-${i}`);
  const setup = createLimitsClient(running.address);
  try {
    await events.plan("pro", "USD", [{ key: "tokens", meterKey: "tokens", unitAmount: "0.00001" }]);
    for (const [i, customerId] of customers.entries()) {
      await events.subscription({ customerId, planKey: "pro", ...PERIOD, revision: 1 });
      await events.rated([{ customerId, meterKey: "tokens", quantity: String(1000 + i), amount: "0.01", sequence: 1, ...PERIOD }]);
    }
    // A plan-wide hard cap, so every Check resolves and evaluates a limit.
    await eventually(async () => {
      const set = await unary(setup.setLimit, { limit: { planKey: "pro", meterKey: "tokens", kind: "LIMIT_KIND_HARD_CAP", measure: "LIMIT_MEASURE_UNITS", value: "1000000000" } }).catch(() => undefined);
      return set !== undefined;
    }, "plan published", 60_000);
    await eventually(async () => (await unary(setup.check, { customerId: customers[customers.length - 1], meterKey: "tokens", quantity: "1" }).catch(() => undefined))?.allowed === true, "seeded state", 60_000);

    process.stdout.write(
      `limits Check bench: rates × ${RATE_SCALE}, ${SECONDS}s per phase after ${WARMUP_SECONDS}s warm-up, ${CUSTOMERS} customers, deadline ${DEADLINE_MS} ms, ` +
        `open-loop grpc-js client in its own process, ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(2)}\n`,
    );
    for (const phase of PHASES) {
      const run = async (address: string, server: string) => {
        const spec = { address, apiKey: TEST_KEYS.all, customers, rate: phase.rate, reserve: phase.reserve, deadlineMs: DEADLINE_MS };
        await inChild({ ...spec, seconds: WARMUP_SECONDS });
        return profiled(`${phase.name}-${server}`, () => inChild({ ...spec, seconds: SECONDS }));
      };
      // Alternating, baseline first: both see the machine as it is during this phase.
      const base = await run(nothing.address, "do-nothing");
      const shedBefore = checksShed.count;
      const limits = await run(running.address, "limits");
      const baseCpu = base.cpuMs / Math.max(1, base.result.sent);
      const limitsCpu = limits.cpuMs / Math.max(1, limits.result.sent);
      process.stdout.write(`  ${phase.name} (${phase.rate}/s${phase.reserve ? ", reserve" : ""}), load average ${os.loadavg()[0]!.toFixed(2)}\n`);
      process.stdout.write(`${line("do-nothing", base.result, base.cpuMs)}\n${line("limits", limits.result, limits.cpuMs)}\n`);
      const internal = limits.result.codes.INTERNAL ?? 0;
      process.stdout.write(
        `    ratios: p50 ${ratio(limits.result.p50, base.result.p50)}  p99 ${ratio(limits.result.p99, base.result.p99)}` +
          `${phase.p99Target ? ` (target ≤ ${phase.p99Target}×)` : ""}  cpu/call ${ratio(limitsCpu, baseCpu)}${phase.cpuTarget ? ` (target ≤ ${phase.cpuTarget}×)` : ""}` +
          `  shed by limits: ${checksShed.count - shedBefore}  INTERNAL: ${internal}\n`,
      );
      for (const s of limits.result.samples) process.stdout.write(`      e.g. ${s}\n`);
    }
    process.stdout.write(`  load average after: ${os.loadavg()[0]!.toFixed(2)}\n`);
  } finally {
    setup.client.close();
    nothing.stop();
    await running.stop();
    await env.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

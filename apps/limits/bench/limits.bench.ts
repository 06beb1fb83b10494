/**
 * Check latency under an open-loop load of 2,000 calls/s (env RATE), for
 * SECONDS (5) after a 1 s warm-up, with and without reserve.
 *
 *   npm run bench -w @tally/limits      (RATE, SECONDS, CUSTOMERS to tune)
 *
 * Starts limits in-process on a fresh test environment (own database and NATS
 * prefix), seeds a plan, CUSTOMERS (200) subscriptions with rated usage and a
 * plan-wide hard cap through rating's events and the API, then drives Check
 * over real gRPC with a grpc-js client (proto-loader on the .proto) running
 * in a worker thread, and prints p50/p99/max latency and the achieved rate,
 * then the same load against a do-nothing grpc-js handler (the ceiling).
 * Exits by itself.
 */
import * as os from "node:os";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { startService } from "@tally/platform";
import { createTestEnvironment, TEST_KEYS } from "@tally/platform/testing";
import { limitsService } from "../src/limits-service";
import { eventually, RatingEvents } from "../src/testing/rating-events";
import { createLimitsClient, type LoadResult, type LoadSpec } from "./load-generator";

const RATE = Number(process.env.RATE ?? 2000);
const SECONDS = Number(process.env.SECONDS ?? 5);
const CUSTOMERS = Number(process.env.CUSTOMERS ?? 200);
const WARMUP_SECONDS = 1;
const PERIOD = { periodStart: "2026-01-01T00:00:00Z", periodEnd: "2099-01-01T00:00:00Z" };

function inWorker(spec: LoadSpec): Promise<LoadResult> {
  const register = path.resolve(__dirname, "../../../tools/ts-node-register.js");
  const worker = new Worker(`require(${JSON.stringify(register)}); require(${JSON.stringify(path.join(__dirname, "load-generator.ts"))});`, {
    eval: true,
    workerData: spec,
  });
  return new Promise((resolve, reject) => {
    worker.once("message", (m: { result?: LoadResult; error?: string }) => {
      void worker.terminate();
      if (m.result) resolve(m.result);
      else reject(new Error(m.error));
    });
    worker.once("error", reject);
  });
}

function unary(fn: (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: { allowed: boolean }) => void) => void, req: object) {
  const md = new grpc.Metadata();
  md.set("authorization", `Bearer ${TEST_KEYS.all}`);
  return new Promise<{ allowed: boolean }>((resolve, reject) => fn(req, md, {}, (err, res) => (err ? reject(err) : resolve(res))));
}

/**
 * The same load against a grpc-js server on the same .proto whose Check does
 * nothing: the ceiling of this client, transport and machine (at its current
 * load) that no Check implementation can beat.
 */
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

function report(label: string, r: LoadResult): void {
  process.stdout.write(
    `  ${label.padEnd(22)} sent ${r.sent}  ok ${r.ok} (allowed ${r.allowed})  errors ${r.errors}  achieved ${r.rate.toFixed(0)}/s  ` +
      `p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  max ${r.max.toFixed(2)} ms\n`,
  );
}

async function main(): Promise<void> {
  const env = await createTestEnvironment();
  const running = await startService(limitsService, env.config("limits", { LOG_LEVEL: "warn" }));
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
      `limits Check bench: ${RATE}/s open loop for ${SECONDS}s (after ${WARMUP_SECONDS}s warm-up), ${CUSTOMERS} customers, ` +
        `grpc-js client in a worker thread, server ${running.address}, ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(2)}\n`,
    );
    for (const reserve of [false, true]) {
      const spec = { address: running.address, apiKey: TEST_KEYS.all, customers, rate: RATE, reserve };
      await inWorker({ ...spec, seconds: WARMUP_SECONDS });
      report(`reserve=${String(reserve)}`, await inWorker({ ...spec, seconds: SECONDS }));
    }
    const nothing = await doNothingServer();
    try {
      const spec = { address: nothing.address, apiKey: TEST_KEYS.all, customers, rate: RATE, reserve: false };
      await inWorker({ ...spec, seconds: WARMUP_SECONDS });
      report("do-nothing handler", await inWorker({ ...spec, seconds: SECONDS }));
    } finally {
      nothing.stop();
    }
    process.stdout.write(`  load average after: ${os.loadavg()[0]!.toFixed(2)}\n`);
  } finally {
    setup.client.close();
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

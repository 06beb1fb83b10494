/**
 * The bench's client, run as its own process (forked by limits.bench.ts) so
 * that generating the load shares neither the server's event loop nor its
 * CPU accounting: an open-loop grpc-js client on the .proto (no generated
 * client code). Calls are scheduled at a fixed rate and each latency is
 * measured from its scheduled send time, so a slow server cannot slow the
 * load down and hide its own queueing (no coordinated omission).
 */
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

export interface LoadSpec {
  address: string;
  apiKey: string;
  customers: string[];
  rate: number;
  seconds: number;
  reserve: boolean;
  /** Each call's deadline. */
  deadlineMs: number;
}

export interface LoadResult {
  sent: number;
  ok: number;
  allowed: number;
  /** OK answers per second. */
  rate: number;
  /** Latency quantiles over every answer (OK or not), from its scheduled send time. */
  p50: number;
  p99: number;
  max: number;
  /** Answers by gRPC status name (OK included). */
  codes: Record<string, number>;
  /** p99 of the refused calls (RESOURCE_EXHAUSTED, UNAVAILABLE): how fast load was shed. */
  shedP99: number;
  /** The first error message of each status, for the report. */
  samples: string[];
}

type Unary = (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: { allowed: boolean }) => void) => void;

export function createLimitsClient(address: string): { client: grpc.Client; check: Unary; setLimit: Unary } {
  const definition = protoLoader.loadSync("tally/limits/v1/limits.proto", {
    includeDirs: [path.resolve(__dirname, "../../../proto")],
    longs: String,
    enums: String,
    defaults: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { tally: { limits: { v1: { Limits: grpc.ServiceClientConstructor } } } };
  const client = new pkg.tally.limits.v1.Limits(address, grpc.credentials.createInsecure());
  const method = (name: string) => (client as unknown as Record<string, Unary>)[name]!.bind(client) as Unary;
  return { client, check: method("check"), setLimit: method("setLimit") };
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const { client, check } = createLimitsClient(spec.address);
  await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())));
  const md = new grpc.Metadata();
  md.set("authorization", `Bearer ${spec.apiKey}`);
  const total = Math.round(spec.rate * spec.seconds);
  const latencies: number[] = [];
  const shed: number[] = [];
  const codes: Record<string, number> = {};
  const sampled = new Map<string, string>();
  let ok = 0;
  let allowed = 0;
  let sent = 0;
  let finished = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * spec.rate));
      for (; sent < due; sent++) {
        const scheduled = start + (sent / spec.rate) * 1000;
        const req = { customerId: spec.customers[sent % spec.customers.length], meterKey: "tokens", quantity: "1", reserve: spec.reserve, reservationTtl: { seconds: 60 } };
        check(req, md, { deadline: Date.now() + spec.deadlineMs }, (err, res) => {
          const code = grpc.status[err ? err.code : grpc.status.OK];
          codes[code] = (codes[code] ?? 0) + 1;
          // Every answer counts, refusals and deadline expiries included: a server cannot look fast by failing slowly.
          const latency = performance.now() - scheduled;
          latencies.push(latency);
          if (!err) {
            ok++;
            if (res.allowed) allowed++;
          } else {
            if (err.code === grpc.status.RESOURCE_EXHAUSTED || err.code === grpc.status.UNAVAILABLE) shed.push(latency);
            // The first message of each status, whatever came first.
            if (!sampled.has(code)) sampled.set(code, `${code}: ${err.details.slice(0, 200)}`);
          }
          if (++finished === total) resolve();
        });
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  const elapsed = (performance.now() - start) / 1000;
  client.close();
  return { sent, ok, allowed, rate: ok / elapsed, ...quantiles(latencies), codes, shedP99: quantiles(shed).p99, samples: [...sampled.values()] };
}

function quantiles(values: number[]): { p50: number; p99: number; max: number } {
  values.sort((a, b) => a - b);
  const q = (p: number) => values[Math.min(values.length - 1, Math.floor(p * values.length))] ?? NaN;
  return { p50: q(0.5), p99: q(0.99), max: values[values.length - 1] ?? NaN };
}

// Forked by the bench: one LoadSpec in, one LoadResult out, then exit.
if (require.main === module && process.send) {
  process.once("message", (spec: LoadSpec) => {
    runLoad(spec).then(
      (result) => process.send!({ result }, () => process.exit(0)),
      (err: unknown) => process.send!({ error: err instanceof Error ? err.message : String(err) }, () => process.exit(1)),
    );
  });
}

/**
 * The bench's client side, run in a worker thread so that generating 2,000
 * calls/s does not compete with the server for the main event loop: an
 * open-loop grpc-js client on the .proto (no generated client code), latency
 * measured from each call's scheduled send time (no coordinated omission).
 */
import * as path from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

export interface LoadSpec {
  address: string;
  apiKey: string;
  customers: string[];
  rate: number;
  seconds: number;
  reserve: boolean;
}

export interface LoadResult {
  sent: number;
  ok: number;
  allowed: number;
  errors: number;
  rate: number;
  p50: number;
  p99: number;
  max: number;
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
  const md = new grpc.Metadata();
  md.set("authorization", `Bearer ${spec.apiKey}`);
  const total = Math.round(spec.rate * spec.seconds);
  const latencies: number[] = [];
  let ok = 0;
  let allowed = 0;
  let errors = 0;
  let sent = 0;
  let finished = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const done = () => {
      if (++finished === total) resolve();
    };
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * spec.rate));
      for (; sent < due; sent++) {
        const scheduled = start + (sent / spec.rate) * 1000;
        const req = { customerId: spec.customers[sent % spec.customers.length], meterKey: "tokens", quantity: "1", reserve: spec.reserve, reservationTtl: { seconds: 60 } };
        check(req, md, { deadline: Date.now() + 10_000 }, (err, res) => {
          if (err) errors++;
          else {
            latencies.push(performance.now() - scheduled);
            ok++;
            if (res.allowed) allowed++;
          }
          done();
        });
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  const elapsed = (performance.now() - start) / 1000;
  client.close();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { sent, ok, allowed, errors, rate: ok / elapsed, p50: q(0.5), p99: q(0.99), max: latencies[latencies.length - 1] ?? NaN };
}

if (parentPort && workerData) {
  const port = parentPort;
  runLoad(workerData as LoadSpec).then(
    (result) => port.postMessage({ result }),
    (err: unknown) => port.postMessage({ error: err instanceof Error ? err.message : String(err) }),
  );
}

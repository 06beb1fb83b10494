import { callUnary as call, createMeterClient } from "./grpc-proto";

/**
 * The load generator, in its own process like real callers: it shares neither the server's
 * event loop nor its heap (so neither its garbage collection). It speaks plain grpc-js with
 * proto-loader and takes tasks over the IPC channel.
 */
export type LoadTask =
  | { kind: "unary"; address: string; apiKey: string; seconds: number; concurrency: number; customers: number; idPrefix: string; eventType: string }
  | { kind: "batch"; address: string; apiKey: string; seconds: number; concurrency: number; customers: number; batchSize: number; idPrefix: string; eventType: string }
  | {
      kind: "seed";
      address: string;
      apiKey: string;
      total: number;
      batchSize: number;
      concurrency: number;
      idPrefix: string;
      eventType: string;
      customerId: string;
      fromMs: number;
      toMs: number;
    }
  | { kind: "query"; address: string; apiKey: string; repeats: number; request: Record<string, unknown> };

export interface LoadResult {
  calls: number;
  events: number;
  accepted: number;
  errors: number;
  firstError?: string;
  durationMs: number;
  latenciesMs: number[];
  lastResponse?: unknown;
}

const MODELS = ["gpt-4o", "gpt-4o-mini", "claude-sonnet", "llama-70b"];

function event(id: string, eventType: string, i: number, customerId: string, timeMs?: number) {
  return {
    id,
    customerId,
    eventType,
    ...(timeMs !== undefined ? { time: { seconds: String(Math.floor(timeMs / 1000)), nanos: (timeMs % 1000) * 1_000_000 } } : {}),
    properties: { tokens: String(100 + (i % 900)), model: MODELS[i % MODELS.length]!, region: i % 3 === 0 ? "eu" : "us" },
  };
}

async function run(task: LoadTask): Promise<LoadResult> {
  const c = createMeterClient(task.address);
  const result: LoadResult = { calls: 0, events: 0, accepted: 0, errors: 0, durationMs: 0, latenciesMs: [] };
  const fail = (err: unknown) => {
    result.errors++;
    result.firstError ??= err instanceof Error ? err.message : String(err);
  };
  const started = performance.now();
  try {
    switch (task.kind) {
      case "unary":
      case "batch": {
        const deadline = started + task.seconds * 1000;
        let seq = 0;
        await Promise.all(
          Array.from({ length: task.concurrency }, async (_, worker) => {
            while (performance.now() < deadline) {
              const n = task.kind === "unary" ? 1 : task.batchSize;
              const base = seq;
              seq += n;
              const t0 = performance.now();
              try {
                if (task.kind === "unary") {
                  const res = await call<{ result?: { status: string } }>(c, "record", { event: event(`${task.idPrefix}-${worker}-${base}`, task.eventType, base, `cust_${base % task.customers}`) }, task.apiKey);
                  if (res.result?.status === "EVENT_STATUS_ACCEPTED") result.accepted++;
                } else {
                  const events = Array.from({ length: n }, (_, k) => event(`${task.idPrefix}-${worker}-${base + k}`, task.eventType, base + k, `cust_${(base + k) % task.customers}`));
                  const res = await call<{ acceptedCount: number }>(c, "recordBatch", { events }, task.apiKey);
                  result.accepted += res.acceptedCount;
                }
                result.calls++;
                result.events += n;
                result.latenciesMs.push(performance.now() - t0);
              } catch (err) {
                fail(err);
              }
            }
          }),
        );
        break;
      }
      case "seed": {
        let next = 0;
        const span = task.toMs - task.fromMs;
        await Promise.all(
          Array.from({ length: task.concurrency }, async () => {
            while (next < task.total) {
              const base = next;
              const n = Math.min(task.batchSize, task.total - base);
              next += n;
              const events = Array.from({ length: n }, (_, k) => {
                const i = base + k;
                // Spread evenly over the month, whole milliseconds.
                return event(`${task.idPrefix}-${i}`, task.eventType, i, task.customerId, task.fromMs + Math.floor((i * span) / task.total));
              });
              try {
                const res = await call<{ acceptedCount: number }>(c, "recordBatch", { events }, task.apiKey);
                result.accepted += res.acceptedCount;
                result.calls++;
                result.events += n;
              } catch (err) {
                fail(err);
              }
            }
          }),
        );
        break;
      }
      case "query": {
        for (let i = 0; i < task.repeats; i++) {
          const t0 = performance.now();
          try {
            result.lastResponse = await call(c, "queryUsage", task.request, task.apiKey);
            result.calls++;
            result.latenciesMs.push(performance.now() - t0);
          } catch (err) {
            fail(err);
          }
        }
        break;
      }
    }
  } finally {
    result.durationMs = performance.now() - started;
    c.close();
  }
  return result;
}

process.on("message", (task: LoadTask) => {
  run(task).then(
    (result) => process.send!({ ok: true, result }),
    (err: unknown) => process.send!({ ok: false, error: err instanceof Error ? err.stack : String(err) }),
  );
});

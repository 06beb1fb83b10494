/**
 * Rating bench: sustained usage at a target rate through real JetStream and Postgres, with one
 * and then two rating instances sharing the durable consumer.
 *
 * Each rating instance runs in its own process (bench/rating-instance.ts). Latency = from the
 * moment a UsageRecorded message is published (as metering would after its commit) to the
 * moment the rating transaction that applied its events COMMITTED (the instance reports the
 * commit time right after COMMIT returns; same machine, same clock). Throughput = events rated
 * per second over the measured window.
 *
 * If @tally/metering is available it records through metering's RecordBatch instead, and latency
 * then starts before the RecordBatch call (ingest + relay + rating).
 *
 *   npm run bench -w @tally/rating
 *   env: BENCH_RATE (20000), BENCH_SECONDS (10), BENCH_BATCH (1000 events per message or RecordBatch),
 *        BENCH_CUSTOMERS (200), BENCH_MODE=direct to bypass metering even when it is available,
 *        BENCH_MODE=scale for the scale-out run instead (1, 2 and 4 instances, same results: bench/scale-out.ts)
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { metering, rating, SUBJECTS } from "@tally/contracts";
import { startService, systemClock, type ServiceDefinition } from "@tally/platform";
import { createTestClient, createTestEnvironment, TEST_KEYS, type TestEnvironment } from "@tally/platform/testing";
import { startRatingInstances } from "./instance-processes";
import { scaleOut } from "./scale-out";

const RATE = Number(process.env.BENCH_RATE ?? 20_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 200);
const DRAIN_TIMEOUT_MS = 30_000;
const WARMUP_SECONDS = 2;
const BURST_EVENTS = Number(process.env.BENCH_BURST ?? 100_000);

interface RunResult {
  burst: number;
  burstSeconds: number;
  instances: number;
  published: number;
  publishSeconds: number;
  rated: number;
  ratedSeconds: number;
  p50: number;
  p99: number;
  max: number;
  batches: number[];
  drained: boolean;
}

async function loadMetering(): Promise<ServiceDefinition | undefined> {
  if (process.env.BENCH_MODE === "direct") return undefined;
  if (!existsSync(path.join(__dirname, "../../metering/src/metering-service.ts"))) return undefined;
  try {
    const mod = (await import("@tally/metering")) as { meteringService?: ServiceDefinition };
    return mod.meteringService;
  } catch {
    return undefined;
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function run(instances: number, meteringService: ServiceDefinition | undefined): Promise<RunResult> {
  const env: TestEnvironment = await createTestEnvironment();
  const stoppers: (() => Promise<void>)[] = [];
  try {
    // Each rating instance is its own process, as in production.
    const ratings = await startRatingInstances(env, instances);
    stoppers.push(async () => {
      await ratings.stop();
    });
    const { client, close } = createTestClient(rating.Rating, ratings.addresses[0]!, TEST_KEYS.all);
    stoppers.unshift(async () => close());

    // The meter: through metering when it exists, else as metering would announce it.
    let record: (events: { id: string; customerId: string; value: string; time: Date }[], msgId: string) => Promise<void>;
    if (meteringService) {
      const m = await startService(meteringService, env.config("metering", { LOG_LEVEL: "warn" }), { clock: systemClock });
      stoppers.unshift(() => m.stop());
      const mc = createTestClient(metering.Meter, m.address, TEST_KEYS.all);
      stoppers.unshift(async () => mc.close());
      await mc.client.createMeter({ meter: { key: "tokens", eventType: "llm", aggregation: metering.Aggregation.SUM, valueProperty: "tokens" } });
      record = async (events) => {
        await mc.client.recordBatch({
          events: events.map((e) => ({ id: e.id, customerId: e.customerId, eventType: "llm", time: timestampFromDate(e.time), properties: { tokens: e.value } })),
        });
      };
    } else {
      await env.bus.ensureStream("metering");
      const meter = create(metering.MeterCreatedSchema, {
        meter: { key: "tokens", eventType: "llm", aggregation: metering.Aggregation.SUM, valueProperty: "tokens", state: metering.MeterState.ACTIVE },
      });
      await env.bus.publish(SUBJECTS.metering.meterCreated, toBinary(metering.MeterCreatedSchema, meter), "meter-tokens");
      record = async (events, msgId) => {
        const msg = create(metering.UsageRecordedSchema, {
          meta: { id: msgId, source: "bench", subject: SUBJECTS.metering.usageRecorded, time: timestampFromDate(new Date()) },
          events: events.map((e) => ({
            id: e.id,
            customerId: e.customerId,
            eventType: "llm",
            time: timestampFromDate(e.time),
            recordTime: timestampFromDate(e.time),
            properties: { tokens: e.value },
            readings: [{ meterKey: "tokens", aggregation: metering.Aggregation.SUM, value: e.value }],
          })),
        });
        await env.bus.publish(SUBJECTS.metering.usageRecorded, toBinary(metering.UsageRecordedSchema, msg), msgId);
      };
    }
    // Wait for rating to learn the meter, then a plan and the customers.
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await client.createPlan({
          plan: {
            key: "bench",
            name: "Bench",
            currency: "USD",
            billingInterval: rating.BillingInterval.MONTH,
            components: [
              {
                key: "tokens",
                meterKey: "tokens",
                displayName: "Tokens",
                pricing: {
                  case: "price",
                  value: { model: { case: "graduated", value: { tiers: [{ upTo: "100000", unitAmount: "0.00002" }, { upTo: "1000000", unitAmount: "0.000015" }, { unitAmount: "0.00001" }] } } },
                },
              },
            ],
          },
        });
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    for (let c = 0; c < CUSTOMERS; c++) await client.createSubscription({ customerId: `bc_${c}`, planKey: "bench" });

    // Latency: publish time per message; commit time observed per batch.
    const publishedAt: number[] = [];
    const latencies: number[] = [];
    let rated = 0;
    let burstRated = 0;
    let burstLast = 0;
    let lastCommit = 0;
    const transactions = new Array<number>(instances).fill(0);
    ratings.onCommitted(({ instance, at: now, perMessage }) => {
      transactions[instance]!++;
      let measured = 0;
      for (const [message, count] of perMessage) {
        if (message.startsWith("b")) {
          burstRated += count;
          burstLast = now;
        }
        if (!message.startsWith("m")) continue; // warm-up or burst traffic
        const latency = now - publishedAt[Number(message.slice(1))]!;
        for (let k = 0; k < count; k++) latencies.push(latency);
        measured += count;
      }
      rated += measured;
      if (measured > 0) lastCommit = now;
    });

    const intervalMs = (BATCH / RATE) * 1000;
    const inflight: Promise<void>[] = [];
    /** Sends `count` messages at the target rate (or at once when unpaced); ids are `<prefix><message>-<i>`. */
    const load = async (prefix: string, count: number, paced = true): Promise<number> => {
      const start = performance.now();
      for (let m = 0; m < count; m++) {
        const due = paced ? start + m * intervalMs : 0;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const time = new Date();
        const events = Array.from({ length: BATCH }, (_, i) => ({
          id: `${prefix}${m}-${i}`,
          customerId: `bc_${(m * BATCH + i) % CUSTOMERS}`,
          value: String(1 + ((m * 7 + i * 13) % 500)),
          time,
        }));
        if (prefix === "m") publishedAt[m] = performance.now();
        inflight.push(record(events, `bench-${prefix}${m}`));
        if (inflight.length > 64) await inflight.shift();
      }
      await Promise.all(inflight.splice(0));
      return start;
    };
    // Warm-up (JIT, connection pools, caches): 2 s at the target rate, not measured.
    await load("w", Math.round((RATE * WARMUP_SECONDS) / BATCH));
    await new Promise((r) => setTimeout(r, 1000));
    const messages = Math.round((RATE * SECONDS) / BATCH);
    const start = await load("m", messages);
    const publishSeconds = (performance.now() - start) / 1000;
    const total = messages * BATCH;
    const drainDeadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (rated < total && Date.now() < drainDeadline) await new Promise((r) => setTimeout(r, 50));
    // Capacity: a backlog published as fast as possible, timed until the last event is rated.
    const burstMessages = Math.round(BURST_EVENTS / BATCH);
    const burstStart = await load("b", burstMessages, false);
    const burstDeadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (burstRated < burstMessages * BATCH && Date.now() < burstDeadline) await new Promise((r) => setTimeout(r, 50));
    latencies.sort((a, b) => a - b);
    return {
      burst: burstRated,
      burstSeconds: (burstLast - burstStart) / 1000,
      instances,
      published: total,
      publishSeconds,
      rated,
      ratedSeconds: (lastCommit - start) / 1000,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies[latencies.length - 1] ?? NaN,
      batches: transactions,
      drained: rated >= total,
    };
  } finally {
    for (const stop of stoppers) await stop().catch(() => undefined);
    await env.close().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const meteringService = await loadMetering();
  console.log(`rating bench: target ${RATE} events/s for ${SECONDS} s (after a ${WARMUP_SECONDS} s warm-up), ${BATCH} events per message, ${CUSTOMERS} customers, graduated 3-tier plan`);
  const runs: { label: string; instances: number; via?: ServiceDefinition }[] = [
    { label: "rating alone (UsageRecorded published straight to JetStream, as metering does)", instances: 1 },
    { label: "rating alone (UsageRecorded published straight to JetStream, as metering does)", instances: 2 },
  ];
  if (meteringService) runs.push({ label: "end to end through metering (RecordBatch → metering outbox → JetStream → rating)", instances: 2, via: meteringService });
  else console.log(process.env.BENCH_MODE === "direct" ? "BENCH_MODE=direct: end-to-end run through metering skipped" : "@tally/metering is not available: end-to-end run through metering skipped");
  const only = process.env.BENCH_INSTANCES?.split(",").map(Number);
  for (const spec of runs) {
    if (only && !only.includes(spec.instances)) continue;
    const r = await run(spec.instances, spec.via);
    const rate = r.rated / r.ratedSeconds;
    console.log(
      [
        `[${spec.label}] instances=${r.instances}:`,
        `published ${r.published} events in ${r.publishSeconds.toFixed(1)} s (${Math.round(r.published / r.publishSeconds)}/s);`,
        `rated ${r.rated} in ${r.ratedSeconds.toFixed(1)} s → ${Math.round(rate)} events/s${r.drained ? "" : " (DID NOT DRAIN in time)"};`,
        `recorded→rated-and-committed latency p50 ${r.p50.toFixed(0)} ms, p99 ${r.p99.toFixed(0)} ms, max ${r.max.toFixed(0)} ms;`,
        `rating transactions per instance ${r.batches.join("/")}`,
        r.p99 < 500 ? "(p99 < 500 ms: met)" : "(p99 < 500 ms: MISSED)",
      ].join(" "),
    );
    console.log(
      `    capacity: a backlog of ${r.burst} events published at once was rated in ${r.burstSeconds.toFixed(1)} s → ${Math.round(r.burst / r.burstSeconds)} events/s`,
    );
  }
}

(process.env.BENCH_MODE === "scale" ? scaleOut() : main()).then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

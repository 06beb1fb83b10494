/**
 * Rating's scale-out, measured: the same backlog of usage rated by 1, 2 and 4 instances (each
 * its own process), in two layouts — every instance pulling from the one shared durable consumer
 * `rating`, and usage partitioned by customer by the NATS server's own subject mapping
 * (`partition(n, …)`) with instance i of m taking partitions k ≡ i (mod m) — each run on a fresh
 * database and stream, on a private nats-server configured with that mapping. Every run's result — each customer's rated quantity and amount —
 * must equal an independent computation (what the bench sent, priced with @tally/pricing) and so
 * each other's, to the last digit. Throughput is events rated per second from the first publish
 * to the last commit, and is printed next to a do-nothing baseline measured in the same run: a
 * consumer on the same stream that only acks (the bus's own ceiling on this machine, now).
 *
 *   BENCH_MODE=scale npm run bench:rating      (or npm run bench:rating-scale)
 *   env: BENCH_SCALE_EVENTS (60000), BENCH_SCALE_BATCH (250 events per message, one customer's),
 *        BENCH_CUSTOMERS (200), BENCH_INSTANCES (1,2,4), BENCH_LAYOUTS (shared,partitioned),
 *        BENCH_PARTITIONS (4)
 */
import { createHash } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { metering, rating, SUBJECTS } from "@tally/contracts";
import { startConsumer, createLogger } from "@tally/platform";
import { createTestClient, createTestEnvironment, TEST_KEYS, type TestEnvironment } from "@tally/platform/testing";
import { createPricer, Decimal, type Price } from "@tally/pricing";
import { startNatsCluster } from "../../../tools/nats-cluster/nats-cluster";
import { startRatingInstances } from "./instance-processes";

const EVENTS = Number(process.env.BENCH_SCALE_EVENTS ?? 60_000);
const BATCH = Number(process.env.BENCH_SCALE_BATCH ?? 250);
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 200);
const COUNTS = (process.env.BENCH_INSTANCES ?? "1,2,4").split(",").map(Number);
const LAYOUTS = (process.env.BENCH_LAYOUTS ?? "shared,partitioned").split(",") as Layout[];
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 4);

type Layout = "shared" | "partitioned";
const WARMUP_MESSAGES = 5;
/** Enough that the server's hash puts some in every partition. */
const WARMUP_CUSTOMERS = 16;
const TIMEOUT_MS = 180_000;

const TIERS = [
  { upTo: "100000", unitAmount: "0.00002" },
  { upTo: "1000000", unitAmount: "0.000015" },
  { upTo: "", unitAmount: "0.00001" },
];
const PRICE: Price = {
  model: {
    kind: "graduated",
    tiers: TIERS.map((t) => ({ upTo: t.upTo ? new Decimal(t.upTo) : null, unitAmount: new Decimal(t.unitAmount), flatAmount: new Decimal(0) })),
  },
};

/**
 * The backlog, the same in every run: message m holds BATCH events of one customer (a tenant's
 * RecordBatch for one of its customers), event i. Warm-up traffic goes to customers of its own.
 */
const customerOf = (m: number) => `bc_${m % CUSTOMERS}`;
const valueOf = (m: number, i: number) => String(1 + ((m * 7 + i * 13) % 500));

interface ScaleRun {
  layout: Layout;
  instances: number;
  rated: number;
  seconds: number;
  perInstance: number[];
  /** Rating processes' CPU (all instances) per event rated in the measured window, µs; Postgres and NATS not included. */
  cpuMicrosPerEvent: number;
  baselinePerSecond: number;
  /** sha256 of every customer's "quantity amount", sorted. */
  digest: string;
  /** Customers whose quantity or amount differ from the independent computation. */
  mismatches: string[];
}

function expectedResults(): Map<string, { quantity: Decimal; amount: Decimal }> {
  const quantities = new Map<string, Decimal>();
  for (let m = 0; m < EVENTS / BATCH; m++) {
    for (let i = 0; i < BATCH; i++) quantities.set(customerOf(m), (quantities.get(customerOf(m)) ?? new Decimal(0)).plus(valueOf(m, i)));
  }
  const pricer = createPricer(PRICE);
  return new Map([...quantities].map(([customer, quantity]) => [customer, { quantity, amount: pricer.amount(quantity) }]));
}

/** Shared: every message on the one usage subject. Partitioned: the customer ends the subject, and the server maps it to a partition. */
const usageSubject = (layout: Layout, customer: string) => (layout === "shared" ? SUBJECTS.metering.usageRecorded : `${SUBJECTS.metering.usageRecorded}.${customer}`);

async function publishUsage(env: TestEnvironment, layout: Layout, prefix: string, messages: number, customer: (m: number) => string): Promise<void> {
  const inflight: Promise<unknown>[] = [];
  for (let m = 0; m < messages; m++) {
    const time = new Date();
    const msg = create(metering.UsageRecordedSchema, {
      meta: { id: `${prefix}${m}`, source: "bench", subject: SUBJECTS.metering.usageRecorded, time: timestampFromDate(time) },
      events: Array.from({ length: BATCH }, (_, i) => ({
        id: `${prefix}${m}-${i}`,
        customerId: customer(m),
        eventType: "llm",
        time: timestampFromDate(time),
        recordTime: timestampFromDate(time),
        properties: { tokens: valueOf(m, i) },
        readings: [{ meterKey: "tokens", aggregation: metering.Aggregation.SUM, value: valueOf(m, i) }],
      })),
    });
    inflight.push(publishOnce(env, usageSubject(layout, customer(m)), toBinary(metering.UsageRecordedSchema, msg), `bench-${prefix}${m}`));
    if (inflight.length > 64) await inflight.shift();
  }
  await Promise.all(inflight);
}

/** Publishes, resending after a timeout (a loaded machine): the msgID makes JetStream store it once. */
async function publishOnce(env: TestEnvironment, subject: string, payload: Uint8Array, msgId: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await env.bus.publish(subject, payload, msgId);
      return;
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
}

async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Instance i of m takes partitions k ≡ i (mod m). */
const partitionsOf = (instance: number, instances: number) => Array.from({ length: PARTITIONS }, (_, k) => k).filter((k) => k % instances === instance);

async function run(layout: Layout, instances: number, expected: ReturnType<typeof expectedResults>): Promise<ScaleRun> {
  const env = await createTestEnvironment();
  const envOf = (i: number): Record<string, string> =>
    layout === "shared" ? {} : { RATING_PARTITIONS: String(PARTITIONS), RATING_PARTITIONS_TAKEN: partitionsOf(i, instances).join(",") };
  const ratings = await startRatingInstances(env, instances, envOf).catch(async (err: unknown) => {
    await env.close();
    throw err;
  });
  const { client, close } = createTestClient(rating.Rating, ratings.addresses[0]!, TEST_KEYS.all);
  try {
    await env.bus.ensureStream("metering");
    const meter = create(metering.MeterCreatedSchema, {
      meter: { key: "tokens", eventType: "llm", aggregation: metering.Aggregation.SUM, valueProperty: "tokens", state: metering.MeterState.ACTIVE },
    });
    await env.bus.publish(SUBJECTS.metering.meterCreated, toBinary(metering.MeterCreatedSchema, meter), "meter-tokens");
    const plan = {
      key: "bench",
      name: "Bench",
      currency: "USD",
      billingInterval: rating.BillingInterval.MONTH,
      components: [{ key: "tokens", meterKey: "tokens", displayName: "Tokens", pricing: { case: "price" as const, value: { model: { case: "graduated" as const, value: { tiers: TIERS } } } } }],
    };
    const planDeadline = Date.now() + 15_000;
    while (!(await client.createPlan({ plan }).then(() => true, (err: unknown) => (Date.now() > planDeadline ? Promise.reject(err) : false)))) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const start = { seconds: BigInt(Math.floor(Date.now() / 1000) - 60) };
    for (let c = 0; c < CUSTOMERS; c++) await client.createSubscription({ customerId: `bc_${c}`, planKey: "bench", startTime: start });
    for (let c = 0; c < WARMUP_CUSTOMERS; c++) await client.createSubscription({ customerId: `wc_${c}`, planKey: "bench", startTime: start });

    // Messages, not events, decide completion: a message redelivered after its ack_wait is reported again.
    const rated = { warm: new Set<string>(), measured: new Set<string>(), events: 0, last: 0 };
    const perInstance = new Array<number>(instances).fill(0);
    // Each instance's CPU clock at its last warm-up commit and at its last measured one.
    const cpuFrom = new Array<number>(instances).fill(0);
    const cpuTo = new Array<number>(instances).fill(0);
    ratings.onCommitted(({ instance, at, perMessage, cpuMicros }) => {
      for (const [message, count] of perMessage) {
        if (message.startsWith("w")) {
          rated.warm.add(message);
          cpuFrom[instance] = cpuMicros;
        }
        if (!message.startsWith("s")) continue;
        if (!rated.measured.has(message)) rated.events += count;
        rated.measured.add(message);
        perInstance[instance]! += count;
        rated.last = at;
        cpuTo[instance] = cpuMicros;
      }
    });
    // Warm-up (JIT, pools, plan cache) on customers outside the results, until every instance has rated some.
    // Warm-up (JIT, pools, plan cache), enough messages that every partition, so every instance, gets some.
    const warmMessages = Math.max(WARMUP_MESSAGES * instances, 2 * WARMUP_CUSTOMERS);
    await publishUsage(env, layout, "w", warmMessages, (m) => `wc_${m % WARMUP_CUSTOMERS}`);
    await until("warm-up rated", () => rated.warm.size >= warmMessages);

    const started = performance.now();
    await publishUsage(env, layout, "s", EVENTS / BATCH, customerOf);
    await until(`${EVENTS} events rated`, () => rated.measured.size >= EVENTS / BATCH);
    const seconds = (rated.last - started) / 1000;
    const cpuMicrosPerEvent = cpuTo.reduce((sum, to, i) => sum + Math.max(0, to - cpuFrom[i]!), 0) / rated.events;

    // Baseline: the same stream, a consumer that only acks (no decoding, no database).
    let acked = 0;
    const baselineStarted = performance.now();
    const baseline = await startConsumer({
      bus: env.bus,
      owner: "metering",
      durable: "bench-baseline",
      subject: layout === "shared" ? SUBJECTS.metering.usageRecorded : `${SUBJECTS.metering.usageRecorded}.>`,
      handle: async (msgs) => void (acked += msgs.length),
      logger: createLogger({ service: "bench" }, "warn"),
      maxBatch: 64,
    });
    const allMessages = warmMessages + EVENTS / BATCH;
    await until("baseline acked", () => acked >= allMessages);
    const baselinePerSecond = (acked * BATCH) / ((performance.now() - baselineStarted) / 1000);
    await baseline.stop();

    const lines: string[] = [];
    const mismatches: string[] = [];
    for (const [customerId, want] of expected) {
      const { components } = await client.getCurrentUsage({ customerId });
      const got = components.find((c) => c.componentKey === "tokens");
      const line = `${customerId} ${got?.quantity} ${got?.amount?.amount}`;
      lines.push(line);
      if (!got || !new Decimal(got.quantity).equals(want.quantity) || !new Decimal(got.amount?.amount ?? "NaN").equals(want.amount)) {
        mismatches.push(`${line} (expected ${want.quantity} ${want.amount})`);
      }
    }
    const digest = createHash("sha256").update(lines.sort().join("\n")).digest("hex").slice(0, 16);
    return { layout, instances, rated: rated.events, seconds, perInstance, cpuMicrosPerEvent, baselinePerSecond, digest, mismatches };
  } finally {
    close();
    await ratings.stop();
    await env.close();
  }
}

export async function scaleOut(): Promise<void> {
  if (EVENTS % BATCH !== 0) throw new Error("BENCH_SCALE_EVENTS must be a multiple of BENCH_SCALE_BATCH");
  // A private server: the shared one on 4222 has no partition mapping (test prefixes are the first token).
  const nats = await startNatsCluster({
    size: 1,
    mappings: { [`*.${SUBJECTS.metering.usageRecorded}.*`]: `{{wildcard(1)}}.${SUBJECTS.metering.usageRecorded}.{{partition(${PARTITIONS},2)}}.{{wildcard(2)}}` },
  });
  process.env.NATS_URL = nats.servers.join(",");
  try {
    console.log(
      [
        `rating scale-out: ${EVENTS} events (${EVENTS / BATCH} messages of ${BATCH}, each one customer's) for ${CUSTOMERS} customers on a graduated 3-tier plan,`,
        `rated by ${COUNTS.join(", ")} instances; layouts: shared = every instance on the durable consumer "rating" (${SUBJECTS.metering.usageRecorded});`,
        `partitioned = the server maps ${SUBJECTS.metering.usageRecorded}.<customer> to ${PARTITIONS} partitions, durable "rating-p<k>" each, instance i of m takes k ≡ i (mod m)`,
      ].join(" "),
    );
    const expected = expectedResults();
    const runs: ScaleRun[] = [];
    for (const layout of LAYOUTS) {
      for (const count of COUNTS) {
        const r = await run(layout, count, expected);
        runs.push(r);
        const perSecond = r.rated / r.seconds;
        const first = runs.find((x) => x.layout === layout)!;
        const taken = layout === "shared" ? "all on rating" : Array.from({ length: count }, (_, i) => partitionsOf(i, count).map((k) => `p${k}`).join("+")).join(" / ");
        console.log(
          [
            `${layout} instances=${r.instances} (${taken}): rated ${r.rated} in ${r.seconds.toFixed(1)} s → ${Math.round(perSecond)} events/s`,
            `(${(perSecond / (first.rated / first.seconds)).toFixed(2)}× 1 instance;`,
            `do-nothing consumer on the same stream ${Math.round(r.baselinePerSecond)} events/s, ratio ${(perSecond / r.baselinePerSecond).toFixed(3)});`,
            `events handled per instance ${r.perInstance.join("/")};`,
            `rating CPU ${r.cpuMicrosPerEvent.toFixed(1)} µs per event (Node, all instances);`,
            `result digest ${r.digest}, ${r.mismatches.length} mismatches against the independent pricing`,
          ].join(" "),
        );
        for (const m of r.mismatches.slice(0, 5)) console.log(`    mismatch: ${m}`);
      }
    }
    const digests = new Set(runs.map((r) => r.digest));
    const exact = digests.size === 1 && runs.every((r) => r.mismatches.length === 0);
    console.log(exact ? `same exact results in every run (digest ${[...digests][0]})` : "RESULTS DIFFER between runs");
    if (!exact) process.exitCode = 1;
  } finally {
    await nats.stop();
  }
}

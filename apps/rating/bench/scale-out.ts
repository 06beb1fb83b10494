/**
 * Rating's scale-out, measured: the same backlog of usage rated by 1, 2 and 4 instances (each
 * its own process, all pulling from the one shared durable consumer `rating`), each run on a
 * fresh database and stream. Every run's result — each customer's rated quantity and amount —
 * must equal an independent computation (what the bench sent, priced with @tally/pricing) and so
 * each other's, to the last digit. Throughput is events rated per second from the first publish
 * to the last commit, and is printed next to a do-nothing baseline measured in the same run: a
 * consumer on the same stream that only acks (the bus's own ceiling on this machine, now).
 *
 *   BENCH_MODE=scale npm run bench:rating      (or npm run bench:rating-scale)
 *   env: BENCH_SCALE_EVENTS (60000), BENCH_BATCH (1000 events per message), BENCH_CUSTOMERS (200),
 *        BENCH_INSTANCES (1,2,4)
 */
import { createHash } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { metering, rating, SUBJECTS } from "@tally/contracts";
import { startConsumer, createLogger } from "@tally/platform";
import { createTestClient, createTestEnvironment, TEST_KEYS, type TestEnvironment } from "@tally/platform/testing";
import { createPricer, Decimal, type Price } from "@tally/pricing";
import { startRatingInstances } from "./instance-processes";

const EVENTS = Number(process.env.BENCH_SCALE_EVENTS ?? 60_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 200);
const COUNTS = (process.env.BENCH_INSTANCES ?? "1,2,4").split(",").map(Number);
const WARMUP_MESSAGES = 5;
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

/** The backlog, the same in every run: message m, event i. Warm-up traffic goes to customers of its own. */
const customerOf = (m: number, i: number) => `bc_${(m * BATCH + i) % CUSTOMERS}`;
const valueOf = (m: number, i: number) => String(1 + ((m * 7 + i * 13) % 500));

interface ScaleRun {
  instances: number;
  rated: number;
  seconds: number;
  perInstance: number[];
  baselinePerSecond: number;
  /** sha256 of every customer's "quantity amount", sorted. */
  digest: string;
  /** Customers whose quantity or amount differ from the independent computation. */
  mismatches: string[];
}

function expectedResults(): Map<string, { quantity: Decimal; amount: Decimal }> {
  const quantities = new Map<string, Decimal>();
  for (let m = 0; m < EVENTS / BATCH; m++) {
    for (let i = 0; i < BATCH; i++) quantities.set(customerOf(m, i), (quantities.get(customerOf(m, i)) ?? new Decimal(0)).plus(valueOf(m, i)));
  }
  const pricer = createPricer(PRICE);
  return new Map([...quantities].map(([customer, quantity]) => [customer, { quantity, amount: pricer.amount(quantity) }]));
}

async function publishUsage(env: TestEnvironment, prefix: string, messages: number, customer: (m: number, i: number) => string): Promise<void> {
  const inflight: Promise<unknown>[] = [];
  for (let m = 0; m < messages; m++) {
    const time = new Date();
    const msg = create(metering.UsageRecordedSchema, {
      meta: { id: `${prefix}${m}`, source: "bench", subject: SUBJECTS.metering.usageRecorded, time: timestampFromDate(time) },
      events: Array.from({ length: BATCH }, (_, i) => ({
        id: `${prefix}${m}-${i}`,
        customerId: customer(m, i),
        eventType: "llm",
        time: timestampFromDate(time),
        recordTime: timestampFromDate(time),
        properties: { tokens: valueOf(m, i) },
        readings: [{ meterKey: "tokens", aggregation: metering.Aggregation.SUM, value: valueOf(m, i) }],
      })),
    });
    inflight.push(env.bus.publish(SUBJECTS.metering.usageRecorded, toBinary(metering.UsageRecordedSchema, msg), `bench-${prefix}${m}`));
    if (inflight.length > 64) await inflight.shift();
  }
  await Promise.all(inflight);
}

async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function run(instances: number, expected: ReturnType<typeof expectedResults>): Promise<ScaleRun> {
  const env = await createTestEnvironment();
  const ratings = await startRatingInstances(env, instances).catch(async (err: unknown) => {
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
    for (let c = 0; c < instances * 4; c++) await client.createSubscription({ customerId: `wc_${c}`, planKey: "bench", startTime: start });

    const rated = { warm: 0, measured: 0, last: 0 };
    const perInstance = new Array<number>(instances).fill(0);
    ratings.onCommitted(({ instance, at, perMessage }) => {
      for (const [message, count] of perMessage) {
        if (message.startsWith("w")) rated.warm += count;
        if (!message.startsWith("s")) continue;
        rated.measured += count;
        perInstance[instance]! += count;
        rated.last = at;
      }
    });
    // Warm-up (JIT, pools, plan cache) on customers outside the results, until every instance has rated some.
    await publishUsage(env, "w", WARMUP_MESSAGES * instances, (m, i) => `wc_${(m * BATCH + i) % (instances * 4)}`);
    await until("warm-up rated", () => rated.warm >= WARMUP_MESSAGES * instances * BATCH);

    const started = performance.now();
    await publishUsage(env, "s", EVENTS / BATCH, customerOf);
    await until(`${EVENTS} events rated`, () => rated.measured >= EVENTS);
    const seconds = (rated.last - started) / 1000;

    // Baseline: the same stream, a consumer that only acks (no decoding, no database).
    let acked = 0;
    const baselineStarted = performance.now();
    const baseline = await startConsumer({
      bus: env.bus,
      owner: "metering",
      durable: "bench-baseline",
      subject: SUBJECTS.metering.usageRecorded,
      handle: async (msgs) => void (acked += msgs.length),
      logger: createLogger({ service: "bench" }, "warn"),
      maxBatch: 64,
    });
    const allMessages = WARMUP_MESSAGES * instances + EVENTS / BATCH;
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
    return { instances, rated: rated.measured, seconds, perInstance, baselinePerSecond, digest, mismatches };
  } finally {
    close();
    await ratings.stop();
    await env.close();
  }
}

export async function scaleOut(): Promise<void> {
  if (EVENTS % BATCH !== 0) throw new Error("BENCH_SCALE_EVENTS must be a multiple of BENCH_BATCH");
  console.log(
    `rating scale-out: ${EVENTS} events (${EVENTS / BATCH} messages of ${BATCH}) for ${CUSTOMERS} customers on a graduated 3-tier plan, rated by ${COUNTS.join(", ")} instances; every instance pulls from the shared durable consumer "rating" (filter ${SUBJECTS.metering.usageRecorded})`,
  );
  const expected = expectedResults();
  const runs: ScaleRun[] = [];
  for (const count of COUNTS) {
    const r = await run(count, expected);
    runs.push(r);
    const perSecond = r.rated / r.seconds;
    const first = runs[0]!;
    console.log(
      [
        `instances=${r.instances}: rated ${r.rated} in ${r.seconds.toFixed(1)} s → ${Math.round(perSecond)} events/s`,
        `(${(perSecond / (first.rated / first.seconds)).toFixed(2)}× the 1st run;`,
        `do-nothing consumer on the same stream ${Math.round(r.baselinePerSecond)} events/s, ratio ${(perSecond / r.baselinePerSecond).toFixed(3)});`,
        `share per instance ${r.perInstance.join("/")};`,
        `result digest ${r.digest}, ${r.mismatches.length} mismatches against the independent pricing`,
      ].join(" "),
    );
    for (const m of r.mismatches.slice(0, 5)) console.log(`    mismatch: ${m}`);
  }
  const digests = new Set(runs.map((r) => r.digest));
  const exact = digests.size === 1 && runs.every((r) => r.mismatches.length === 0);
  console.log(exact ? `same exact results for ${COUNTS.join(", ")} instances (digest ${[...digests][0]})` : "RESULTS DIFFER between instance counts");
  if (!exact) process.exitCode = 1;
}

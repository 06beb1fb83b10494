/**
 * Limits' event consumption: CPU per consumed usage amount, next to a
 * do-nothing consumer of the very same messages.
 *
 *   npm run bench:limits-consume   (CUSTOMERS 1000; MESSAGES 300; PER_MESSAGE 80
 *                                    amounts per UsageRated; CPU_PROFILE=<file>
 *                                    writes a .cpuprofile of the measured drain)
 *
 * Shaped like the month: one plan, CUSTOMERS subscriptions, every 10th customer
 * capped (units, with 50 % and 90 % alerts) and holding a committed reservation,
 * every 20th prepaid with a credit grant. UsageRated messages are published
 * the way rating publishes a rated batch (one running amount per customer
 * touched, skewed so some customers are 100× others) while limits is
 * stopped; then limits starts and the drain is timed and its CPU counted
 * (this process does nothing else meanwhile; Postgres' CPU is not in it, its
 * committed transactions are printed). Then a do-nothing consumer reads the
 * same messages from the start: its CPU is the bus's own cost.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import * as os from "node:os";
import { limits as pb } from "@tally/contracts";
import * as path from "node:path";
import * as platform from "@tally/platform";
import { createLogger, createPool, startConsumer, type RunningService } from "@tally/platform";
import { createTestClient, createTestEnvironment, TEST_KEYS } from "@tally/platform/testing";
import { limitsService as thisTreesLimits } from "../src/limits-service";
import { RATING_SUBJECTS } from "../src/service/usage-projector";
import { eventually, RatingEvents } from "../src/testing/rating-events";

const CUSTOMERS = Number(process.env.CUSTOMERS ?? 1000);
const MESSAGES = Number(process.env.MESSAGES ?? 300);
const PER_MESSAGE = Number(process.env.PER_MESSAGE ?? 80);
const CPU_PROFILE = process.env.CPU_PROFILE;
const PERIOD = { periodStart: "2026-01-01T00:00:00Z", periodEnd: "2099-01-01T00:00:00Z" };
const PRICE = "0.001";

/** Deterministic PRNG (mulberry32): the same messages on every run. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * LIMITS_TREE=<checkout> runs that checkout's limits (and its platform) instead of this one's, with
 * the same driver: interleave `LIMITS_TREE=/work/main` runs with this tree's for a same-moment ratio.
 */
const TREE = process.env.LIMITS_TREE;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const limitsService: typeof thisTreesLimits = TREE ? require(path.join(TREE, "apps/limits/src/limits-service")).limitsService : thisTreesLimits;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const startService: typeof platform.startService = TREE ? require(path.join(TREE, "libs/platform/src")).startService : platform.startService;

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

async function main(): Promise<void> {
  const env = await createTestEnvironment();
  const config = env.config("limits", { LOG_LEVEL: "warn" });
  const pool = createPool(config.databaseUrl, "limits", { max: 2 });
  const events = new RatingEvents(env.bus);
  const customers = Array.from({ length: CUSTOMERS }, (_, i) => `c-${String(i).padStart(5, "0")}`);
  const quantities = new Map<string, number>();
  const sequences = new Map<string, number>();
  let running: RunningService | undefined = await startService(limitsService, config);
  try {
    const test = createTestClient(pb.Limits, running.address, TEST_KEYS.all);
    const client = test.client;
    await events.plan("pro", "USD", [{ key: "tokens", meterKey: "tokens", unitAmount: PRICE }]);
    for (const [i, customerId] of customers.entries()) {
      await events.subscription({ customerId, planKey: "pro", ...PERIOD, revision: 1 });
      await events.rated([{ customerId, meterKey: "tokens", quantity: "1", amount: PRICE, sequence: 1, ...PERIOD }]);
      quantities.set(customerId, 1);
      sequences.set(customerId, 1);
      void i;
    }
    await eventually(async () => (await client.check({ customerId: customers[CUSTOMERS - 1]!, meterKey: "tokens", quantity: "1" }).catch(() => undefined))?.allowed === true, "seeded", 120_000);
    for (const [i, customerId] of customers.entries()) {
      if (i % 10 === 0) {
        await client.setLimit({
          limit: {
            scope: { case: "customerId", value: customerId },
            meterKey: "tokens",
            kind: pb.LimitKind.HARD_CAP,
            measure: pb.LimitMeasure.UNITS,
            value: "100000000",
            alerts: [{ threshold: { case: "absolute", value: "500" } }, { threshold: { case: "percent", value: "90" } }],
          },
        });
        const reserved = await client.check({ customerId, meterKey: "tokens", quantity: "5", reserve: true });
        if (reserved.reservationId) await client.commitReservation({ reservationId: reserved.reservationId, actualQuantity: "5" });
      }
      if (i % 20 === 5) await client.grantCredits({ customerId, amount: { currency: "USD", amount: "1000" }, priority: 1, idempotencyKey: `g-${customerId}` });
    }
    test.close();
    await running.stop();
    running = undefined;

    // The month's shape: a few heavy customers, a long tail.
    const next = rng(16);
    const pick = () => customers[Math.min(CUSTOMERS - 1, Math.floor(CUSTOMERS * next() ** 3))]!;
    let amounts = 0;
    for (let m = 0; m < MESSAGES; m++) {
      const batch = new Set<string>();
      while (batch.size < Math.min(PER_MESSAGE, CUSTOMERS)) batch.add(pick());
      await events.rated(
        [...batch].map((customerId) => {
          const quantity = quantities.get(customerId)! + 1 + Math.floor(next() * 20);
          const sequence = sequences.get(customerId)! + 1;
          quantities.set(customerId, quantity);
          sequences.set(customerId, sequence);
          return { customerId, meterKey: "tokens", quantity: String(quantity), amount: (quantity * Number(PRICE)).toFixed(3), sequence, ...PERIOD };
        }),
      );
      amounts += batch.size;
    }
    const finalSum = [...sequences.values()].reduce((s, v) => s + v, 0);
    const drained = async () => Number((await pool.query<{ s: string }>("SELECT coalesce(sum(sequence), 0)::text AS s FROM running_amounts")).rows[0]!.s) === finalSum;
    const commits = async () => Number((await pool.query<{ n: string }>("SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = current_database()")).rows[0]!.n);

    const load = os.loadavg()[0]!.toFixed(2);
    const commitsBefore = await commits();
    const session = CPU_PROFILE ? new Session() : undefined;
    if (session) {
      session.connect();
      await session.post("Profiler.enable");
      await session.post("Profiler.start");
    }
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    running = await startService(limitsService, config);
    await waitFor(drained);
    const limitsCpu = cpuMs(process.cpuUsage(cpuBefore));
    const limitsWall = performance.now() - started;
    if (session) {
      const { profile } = await session.post("Profiler.stop");
      writeFileSync(CPU_PROFILE!, JSON.stringify(profile));
      session.disconnect();
    }
    const limitsCommits = (await commits()) - commitsBefore;
    await running.stop();
    running = undefined;

    let seen = 0;
    const noopStarted = performance.now();
    const noopBefore = process.cpuUsage();
    const noop = await startConsumer({
      bus: env.bus,
      owner: "rating",
      durable: "bench-noop",
      subject: RATING_SUBJECTS,
      handle: async (messages) => void (seen += messages.length),
      logger: createLogger({}, "warn"),
      maxBatch: 100,
    });
    const total = 1 + CUSTOMERS * 2 + MESSAGES;
    await waitFor(() => seen >= total);
    const noopCpu = cpuMs(process.cpuUsage(noopBefore));
    const noopWall = performance.now() - noopStarted;
    await noop.stop();

    const us = (ms: number) => ((ms * 1000) / amounts).toFixed(1);
    process.stdout.write(
      `limits consume bench (${TREE ?? "this tree"}): ${CUSTOMERS} customers, ${MESSAGES} UsageRated × ${PER_MESSAGE} amounts = ${amounts} amounts, ${os.cpus().length} cores, load average ${load}\n` +
        `  limits     ${(limitsWall / 1000).toFixed(2)} s  cpu ${us(limitsCpu)} µs/amount  ${Math.round((amounts * 1000) / limitsWall)} amounts/s  ${limitsCommits} Postgres transactions (with the bench's 50 ms polls)\n` +
        `  do-nothing ${(noopWall / 1000).toFixed(2)} s  cpu ${us(noopCpu)} µs/amount (same messages plus ${total - MESSAGES} setup ones)\n` +
        `  ratio      cpu ${(limitsCpu / noopCpu).toFixed(1)}×\n`,
    );
  } finally {
    await running?.stop();
    await pool.end();
    await env.close();
  }
}

async function waitFor(condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 600_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("not drained within 10 minutes");
    await new Promise((r) => setTimeout(r, 50));
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${String(err instanceof Error ? err.stack : err)}\n`);
    process.exit(1);
  },
);

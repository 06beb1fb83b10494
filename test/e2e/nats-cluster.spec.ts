import { Client } from "pg";
import { metering, rating } from "@tally/contracts";
import { openClockBucket } from "@tally/platform";
import { checkHealth, until } from "@tally/platform/testing";
import { startNatsCluster, type NatsCluster } from "../../tools/nats-cluster/nats-cluster";
import { startPlatformStack, untilMeterKnown, type PlatformStack } from "../support/platform-stack";

const CUSTOMERS = ["nc_0", "nc_1", "nc_2", "nc_3"];
const PRODUCERS = 4;
const EVENTS_PER_PRODUCER = 1_000;
const BATCH = 100;

/**
 * The services on a 3-node NATS cluster (streams and consumers at 3 replicas): a node dies with
 * kill -9 under batched ingest and comes back on its store. Every event metering acknowledged is
 * stored once and rated once. The full version, with the services as processes and more faults,
 * is `npm run chaos`.
 */
describe("on a 3-node NATS cluster", () => {
  let cluster: NatsCluster;
  let stack: PlatformStack;
  let db: Client;
  const saved = { url: process.env.NATS_URL, replicas: process.env.NATS_STREAM_REPLICAS };

  beforeAll(async () => {
    cluster = await startNatsCluster();
    process.env.NATS_URL = cluster.servers.join(",");
    process.env.NATS_STREAM_REPLICAS = "3";
    stack = await startPlatformStack();
    db = new Client({ connectionString: stack.env.database.url });
    await db.connect();
    await stack.meter.createMeter({ meter: { key: "tokens", eventType: "llm", aggregation: metering.Aggregation.SUM, valueProperty: "tokens" } });
    await untilMeterKnown(() =>
      stack.rater.createPlan({
        plan: {
          key: "per_unit",
          name: "Per unit",
          currency: "USD",
          billingInterval: rating.BillingInterval.MONTH,
          components: [{ key: "tokens", meterKey: "tokens", displayName: "Tokens", pricing: { case: "price", value: { model: { case: "perUnit", value: { unitAmount: "1" } } } } }],
        },
      }),
    );
    const startTime = { seconds: BigInt(Math.floor(Date.now() / 1000) - 3600) };
    for (const customerId of CUSTOMERS) await stack.rater.createSubscription({ customerId, planKey: "per_unit", startTime, idempotencyKey: `sub-${customerId}` });
  }, 60_000);

  afterAll(async () => {
    await db?.end();
    await stack?.stop();
    await cluster?.stop();
    process.env.NATS_URL = saved.url;
    process.env.NATS_STREAM_REPLICAS = saved.replicas;
    if (saved.url === undefined) delete process.env.NATS_URL;
    if (saved.replicas === undefined) delete process.env.NATS_STREAM_REPLICAS;
  });

  it("keeps its streams at 3 replicas, one on each node", async () => {
    const info = await stack.env.bus.manager.streams.info(stack.env.bus.streamName("metering"));
    expect(info.config.num_replicas).toBe(3);
    expect(1 + (info.cluster?.replicas?.length ?? 0)).toBe(3);
  });

  it("keeps the shared clock's bucket at 3 replicas too (a node's loss must not stop every service's clock)", async () => {
    const kv = await openClockBucket(stack.env.bus);
    expect((await kv.status()).replicas).toBe(3);
  });

  it("rates every event exactly once while the node metering is connected to is killed and restarted", async () => {
    const acknowledged = new Set<string>();
    let produced = 0;
    const producer = async (p: number) => {
      for (let start = 0; start < EVENTS_PER_PRODUCER; start += BATCH) {
        const events = Array.from({ length: BATCH }, (_, k) => {
          const i = start + k;
          return { id: `nc-${p}-${i}`, customerId: CUSTOMERS[i % CUSTOMERS.length]!, eventType: "llm", properties: { tokens: "1" } };
        });
        // What a careful client does: resend the same ids until each is ACCEPTED or DUPLICATE.
        for (;;) {
          const res = await stack.meter.recordBatch({ events }).catch(() => undefined);
          if (res?.results.every((r) => r.status === metering.EventStatus.ACCEPTED || r.status === metering.EventStatus.DUPLICATE)) {
            for (const r of res.results) acknowledged.add(r.eventId);
            produced += events.length;
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    };
    const total = PRODUCERS * EVENTS_PER_PRODUCER;
    const producing = Promise.all(Array.from({ length: PRODUCERS }, (_, p) => producer(p)));

    await until("a third of the events in", () => produced >= total / 3, 60_000);
    const victim = cluster.servers.findIndex((s) => s.endsWith(`:${stack.metering.deps.bus.connection.getServer().split(":").pop()}`));
    expect(victim).toBeGreaterThanOrEqual(0);
    await cluster.kill(victim);
    await until("more events in with the node down", () => produced >= (total * 2) / 3, 60_000);
    await cluster.restart(victim);
    await producing;

    const count = async (sql: string) => Number((await db.query<{ n: string }>(sql)).rows[0]!.n);
    const stored = () => count("SELECT count(*) AS n FROM metering.events WHERE event_id LIKE 'nc-%'");
    const ratedIds = () => count("SELECT count(*) AS n FROM rating.rated_events WHERE event_id LIKE 'nc-%'");
    // At 1 per unit a running amount is the quantity rated: an event applied twice shows here.
    const ratedQuantity = () => count("SELECT coalesce(sum(amount), 0) AS n FROM rating.period_usage");
    await until("rating to catch up", async () => (await ratedIds()) >= total, 60_000);
    await cluster.untilHealthy();
    expect({ acknowledged: acknowledged.size, stored: await stored(), ratedIds: await ratedIds(), ratedQuantity: await ratedQuantity() }).toEqual({
      acknowledged: total,
      stored: total,
      ratedIds: total,
      ratedQuantity: total,
    });
  }, 120_000);

  it("reports NOT_SERVING while no node answers, and SERVING again once they are back, without a restart", async () => {
    for (let i = 0; i < cluster.servers.length; i++) await cluster.kill(i);
    await until("rating NOT_SERVING", async () => (await checkHealth(stack.rating.address)) === "NOT_SERVING", 20_000);
    await Promise.all(cluster.servers.map((_, i) => cluster.restart(i)));
    await until("rating SERVING", async () => (await checkHealth(stack.rating.address)) === "SERVING", 30_000);
    await until("metering SERVING", async () => (await checkHealth(stack.metering.address)) === "SERVING", 30_000);
  }, 90_000);
});

import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { metering, rating, SUBJECTS } from "@tally/contracts";
import { startService, type RunningService } from "@tally/platform";
import { createTestClient, createTestEnvironment, eventually, TEST_KEYS, type TestEnvironment } from "@tally/platform/testing";
import { startNatsCluster, type NatsCluster } from "../../tools/nats-cluster/nats-cluster";
import { createRatingService } from "../support/services";

const PARTITIONS = 2;
const CUSTOMERS = Array.from({ length: 8 }, (_, i) => `pc_${i}`);

/**
 * Usage partitioned by customer by the NATS server's own `partition(n, …)` subject mapping, two
 * rating instances each taking one partition's durable: every customer's usage is rated once, by
 * one instance, and both partitions carry work.
 */
describe("rating on usage partitioned by the server's subject mapping", () => {
  let nats: NatsCluster;
  let env: TestEnvironment;
  const ratings: RunningService[] = [];
  const saved = { ...process.env };

  beforeAll(async () => {
    const usage = SUBJECTS.metering.usageRecorded;
    nats = await startNatsCluster({ size: 1, mappings: { [`*.${usage}.*`]: `{{wildcard(1)}}.${usage}.{{partition(${PARTITIONS},2)}}.{{wildcard(2)}}` } });
    process.env.NATS_URL = nats.servers.join(",");
    env = await createTestEnvironment();
    for (let k = 0; k < PARTITIONS; k++) {
      // Each instance reads its partitions from the environment as it is built.
      process.env.RATING_PARTITIONS = String(PARTITIONS);
      process.env.RATING_PARTITIONS_TAKEN = String(k);
      ratings.push(await startService(createRatingService({ metering: undefined }), env.config("rating")));
    }
  }, 60_000);

  afterAll(async () => {
    for (const r of ratings) await r.stop();
    await env?.close();
    await nats?.stop();
    for (const key of ["NATS_URL", "RATING_PARTITIONS", "RATING_PARTITIONS_TAKEN"]) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  });

  it("rates every customer's usage exactly once, spread over the partitions' consumers", async () => {
    const meter = create(metering.MeterCreatedSchema, {
      meter: { key: "tokens", eventType: "llm", aggregation: metering.Aggregation.SUM, valueProperty: "tokens", state: metering.MeterState.ACTIVE },
    });
    await env.bus.publish(SUBJECTS.metering.meterCreated, toBinary(metering.MeterCreatedSchema, meter), "meter-tokens");
    const { client, close } = createTestClient(rating.Rating, ratings[0]!.address, TEST_KEYS.all);
    try {
      await eventually(() =>
        client.createPlan({
          plan: {
            key: "per_unit",
            name: "Per unit",
            currency: "USD",
            billingInterval: rating.BillingInterval.MONTH,
            components: [{ key: "tokens", meterKey: "tokens", displayName: "Tokens", pricing: { case: "price", value: { model: { case: "perUnit", value: { unitAmount: "1" } } } } }],
          },
        }),
      );
      const startTime = { seconds: BigInt(Math.floor(Date.now() / 1000) - 60) };
      for (const customerId of CUSTOMERS) await client.createSubscription({ customerId, planKey: "per_unit", startTime });

      // Customer c gets c+1 messages of 10 events of 1 token; each message is published (and sent
      // twice, as a relay retry would) on the subject that ends in its customer.
      const now = timestampFromDate(new Date());
      for (const [c, customerId] of CUSTOMERS.entries()) {
        for (let m = 0; m <= c; m++) {
          const msg = create(metering.UsageRecordedSchema, {
            meta: { id: `${customerId}-${m}`, source: "test", subject: SUBJECTS.metering.usageRecorded, time: now },
            events: Array.from({ length: 10 }, (_, i) => ({
              id: `${customerId}-${m}-${i}`,
              customerId,
              eventType: "llm",
              time: now,
              recordTime: now,
              properties: { tokens: "1" },
              readings: [{ meterKey: "tokens", aggregation: metering.Aggregation.SUM, value: "1" }],
            })),
          });
          const payload = toBinary(metering.UsageRecordedSchema, msg);
          for (const msgId of [`u-${customerId}-${m}`, `again-${customerId}-${m}`]) await env.bus.publish(`${SUBJECTS.metering.usageRecorded}.${customerId}`, payload, msgId);
        }
      }

      for (const [c, customerId] of CUSTOMERS.entries()) {
        await eventually(async () => {
          const usage = await client.getCurrentUsage({ customerId });
          expect(usage.components.find((x) => x.componentKey === "tokens")?.quantity).toBe(String(10 * (c + 1)));
        }, 30_000);
      }
      const stream = env.bus.streamName("metering");
      const delivered = await Promise.all(
        Array.from({ length: PARTITIONS }, async (_, k) => (await env.bus.manager.consumers.info(stream, `rating-p${k}`)).delivered.stream_seq),
      );
      expect(delivered.every((seq) => seq > 0)).toBe(true);
      await expect(env.bus.manager.consumers.info(stream, "rating")).rejects.toThrow();
    } finally {
      close();
    }
  }, 90_000);
});

import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { limits as pb, rating, SUBJECTS } from "@tally/contracts";
import { createPool, startService, type Pool, type ReceivedEvent, type RunningService } from "@tally/platform";
import { createTestClient, createTestEnvironment, ManualClock, TEST_KEYS, type TestClient, type TestEnvironment } from "@tally/platform/testing";
import { Decimal } from "@tally/pricing";
import { createLimitsApp, limitsService } from "../limits-service";
import { eventually, RatingEvents } from "../testing/rating-events";

const JAN = { periodStart: "2026-01-01T00:00:00Z", periodEnd: "2026-02-01T00:00:00Z" };
const CUSTOMERS = ["m-alert", "m-merge", "m-plain", "m-prepaid", "m-settle"];

/**
 * One UsageRated carrying several customers is applied statement by statement
 * for the whole message: each customer still gets exactly its own
 * settlement, credit burn, overage and alerts, and a redelivered message
 * changes nothing.
 */
describe("usage projector: a message of many customers", () => {
  let env: TestEnvironment;
  let running: RunningService;
  let test: TestClient<typeof pb.Limits>;
  let client: TestClient<typeof pb.Limits>["client"];
  let rated: RatingEvents;
  let pool: Pool;

  beforeAll(async () => {
    env = await createTestEnvironment();
    running = await startService(limitsService, env.config("limits"), { clock: new ManualClock("2026-01-10T00:00:00Z") });
    test = createTestClient(pb.Limits, running.address, TEST_KEYS.all);
    client = test.client;
    pool = createPool(running.deps.config.databaseUrl, "limits", { max: 2 });
    rated = new RatingEvents(env.bus);
    await rated.plan("pro", "USD", [{ key: "tokens", meterKey: "tokens", unitAmount: "0.1" }]);
    for (const customerId of CUSTOMERS) await rated.subscription({ customerId, planKey: "pro", ...JAN, revision: 1 });
    await eventually(async () => (await client.check({ customerId: "m-settle", meterKey: "tokens" }).catch(() => undefined))?.reason !== pb.DenyReason.NO_SUBSCRIPTION, "subscriptions");
  }, 30_000);

  afterAll(async () => {
    test?.close();
    await pool?.end();
    await running?.stop();
    await env?.close();
  });

  const overage = async (customerId: string) =>
    new Decimal((await pool.query<{ overage: string }>("SELECT overage::text FROM customers WHERE customer_id = $1", [customerId])).rows[0]!.overage).toFixed();
  const balance = async (customerId: string) => (await client.getBalance({ customerId })).balance!.balance?.amount;
  const alerts = async (customerId: string) => (await client.listTriggeredAlerts({ customerId })).alerts;

  it("settles, burns, counts overage and fires alerts per customer, once", async () => {
    await client.setLimit({
      limit: { scope: { case: "customerId", value: "m-alert" }, meterKey: "tokens", kind: pb.LimitKind.SOFT_LIMIT, measure: pb.LimitMeasure.UNITS, value: "100", alerts: [{ threshold: { case: "percent", value: "50" } }] },
    });
    await client.setLimit({
      limit: { scope: { case: "customerId", value: "m-settle" }, meterKey: "tokens", kind: pb.LimitKind.HARD_CAP, measure: pb.LimitMeasure.UNITS, value: "100" },
    });
    const hold = await client.check({ customerId: "m-settle", meterKey: "tokens", quantity: "20", reserve: true });
    await client.commitReservation({ reservationId: hold.reservationId, actualQuantity: "15" });
    await client.grantCredits({ customerId: "m-prepaid", amount: { currency: "USD", amount: "10" }, priority: 1, idempotencyKey: "m-1" });

    // 60 × 0.1 = 6 for m-alert (50 % of 100 reached); 30 × 0.1 = 3 for the others; m-settle's 15 cover its hold.
    const message = [
      { customerId: "m-settle", meterKey: "tokens", quantity: "15", amount: "1.5", sequence: 1, ...JAN },
      { customerId: "m-alert", meterKey: "tokens", quantity: "60", amount: "6", sequence: 1, ...JAN },
      { customerId: "m-prepaid", meterKey: "tokens", quantity: "30", amount: "3", sequence: 1, ...JAN },
      { customerId: "m-plain", meterKey: "tokens", quantity: "30", amount: "3", sequence: 1, ...JAN },
    ];
    const id = await rated.rated(message);
    await eventually(async () => (await balance("m-prepaid")) === "7", "m-prepaid burned 3 of 10");
    const settled = await client.check({ customerId: "m-settle", meterKey: "tokens" });
    expect([settled.currentUsage, settled.reserved]).toEqual(["15", "0"]);
    expect(await overage("m-plain")).toBe("3");
    expect(await overage("m-prepaid")).toBe("0");
    expect(await overage("m-settle")).toBe("1.5");
    expect((await alerts("m-alert")).map((a) => a.thresholdValue)).toEqual(["50"]);
    expect(await alerts("m-plain")).toEqual([]);

    // The same message again (a redelivery), then a later snapshot of m-plain only: only the latter counts.
    await rated.rated(message, `${id}-again`);
    await rated.rated([{ customerId: "m-plain", meterKey: "tokens", quantity: "40", amount: "4", sequence: 2, ...JAN }]);
    await eventually(async () => (await overage("m-plain")) === "4", "m-plain's later snapshot");
    expect(await balance("m-prepaid")).toBe("7");
    expect(await overage("m-prepaid")).toBe("0");
    expect(await overage("m-settle")).toBe("1.5");
    expect((await alerts("m-alert")).length).toBe(1);
    const { rows } = await pool.query<{ n: string }>("SELECT count(*)::text AS n FROM spend_applications WHERE customer_id <> 'm-merge'");
    expect(rows[0]!.n).toBe("5"); // four customers' first spend, m-plain's second
  });

  it("applies a consumer batch of UsageRated messages together, in sequence order per key, once under redelivery", async () => {
    const app = createLimitsApp(running.deps);
    const message = (quantity: string, amount: string, sequence: number, seq: number): ReceivedEvent => ({
      subject: SUBJECTS.rating.usageRated,
      seq,
      deliveries: 1,
      data: toBinary(
        rating.UsageRatedSchema,
        create(rating.UsageRatedSchema, {
          amounts: [
            {
              customerId: "m-merge",
              subscriptionId: "sub_m-merge",
              planKey: "pro",
              planVersion: 1,
              componentKey: "tokens",
              meterKey: "tokens",
              period: { start: timestampFromDate(new Date(JAN.periodStart)), end: timestampFromDate(new Date(JAN.periodEnd)) },
              quantity,
              amount,
              currency: "USD",
              sequence: BigInt(sequence),
            },
          ],
        }),
      ),
    });
    // Out of order inside the batch: applied in sequence order, the last snapshot wins, each spend change is booked once.
    const batch = [message("10", "1", 1, 1), message("25", "2.5", 3, 2), message("20", "2", 2, 3)];
    await app.projector.handle(batch);
    await app.projector.handle(batch);
    const usage = await pool.query<{ quantity: string; spend: string }>("SELECT quantity::text, spend::text FROM meter_usage WHERE customer_id = 'm-merge'");
    expect(usage.rows.map((r) => [new Decimal(r.quantity).toFixed(), new Decimal(r.spend).toFixed()])).toEqual([["25", "2.5"]]);
    expect(await overage("m-merge")).toBe("2.5");
    const { rows } = await pool.query<{ delta: string }>("SELECT delta::text FROM spend_applications WHERE customer_id = 'm-merge' ORDER BY source_ref");
    expect(rows.map((r) => new Decimal(r.delta).toFixed())).toEqual(["1", "1", "0.5"]); // #1: 0 → 1, #2: 1 → 2, #3: 2 → 2.5
  });
});

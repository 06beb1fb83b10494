import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createTestEnvironment, ManualClock, scrapeMetric, type TestEnvironment } from "@tally/platform/testing";
import { AGG, planInput, publishMeter, publishUsage, startRating, waitForMeters, waitUntil, type RatingInstance } from "./testing/rating-test-kit";

/** Business counters on rating's /metrics move by exactly the traffic rated. */
describe("rating counters on /metrics", () => {
  let env: TestEnvironment;
  let svc: RatingInstance;
  const NOW = "2026-03-10T12:00:00Z";

  beforeAll(async () => {
    env = await createTestEnvironment();
    svc = await startRating(env, new ManualClock(NOW));
    await publishMeter(env, "tokens", AGG.SUM);
    await waitForMeters(svc, ["tokens"]);
    await svc.client.createPlan({
      plan: planInput("grad", [
        {
          key: "tok",
          meterKey: "tokens",
          displayName: "tok",
          pricing: { case: "price", value: { model: { case: "graduated", value: { tiers: [{ upTo: "100", unitAmount: "1" }, { upTo: "1000", unitAmount: "0.5" }, { unitAmount: "0.1" }] } } } },
        },
      ]),
    });
    await svc.client.createSubscription({ customerId: "cus_m", planKey: "grad", startTime: timestampFromDate(new Date("2026-03-01T00:00:00Z")) });
  }, 30_000);
  afterAll(async () => {
    await svc?.stop();
    await env?.close();
  });

  const read = async () => ({
    rated: await scrapeMetric(svc.running, "tally_rating_events_rated_total"),
    crossings: await scrapeMetric(svc.running, "tally_rating_tier_crossings_total"),
  });
  const event = (id: string, value: string) => ({ id, customerId: "cus_m", time: NOW, readings: [{ meterKey: "tokens", aggregation: AGG.SUM, value, group: {} }] });

  it("counts each event rated once and each tier boundary crossed", async () => {
    const before = await read();
    // 50, then 5,000 (crosses 100 and 1,000), and the first one again in another message (a duplicate).
    await publishUsage(env, [event("m_1", "50"), event("m_2", "5000")]);
    await publishUsage(env, [event("m_1", "50"), event("m_3", "1")]);
    await waitUntil(async () => (await read()).rated - before.rated >= 3, "three events rated");
    const after = await read();
    expect({ rated: after.rated - before.rated, crossings: after.crossings - before.crossings }).toEqual({ rated: 3, crossings: 2 });
  });
});

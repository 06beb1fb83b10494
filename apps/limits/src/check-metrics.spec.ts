import { limits as pb } from "@tally/contracts";
import { startService, type RunningService } from "@tally/platform";
import { createTestClient, createTestEnvironment, ManualClock, scrapeMetric, TEST_KEYS, type TestClient, type TestEnvironment } from "@tally/platform/testing";
import { limitsService } from "./limits-service";
import { eventually, RatingEvents } from "./testing/rating-events";

/** tally_limits_checks_total moves by exactly the Checks answered. */
describe("limits counters on /metrics", () => {
  let env: TestEnvironment;
  let running: RunningService;
  let test: TestClient<typeof pb.Limits>;

  beforeAll(async () => {
    env = await createTestEnvironment();
    running = await startService(limitsService, env.config("limits"), { clock: new ManualClock("2026-01-10T00:00:00Z") });
    test = createTestClient(pb.Limits, running.address, TEST_KEYS.all);
    const rated = new RatingEvents(env.bus);
    await rated.plan("pro", "USD", [{ key: "tokens", meterKey: "tokens", unitAmount: "0.01" }]);
    await rated.subscription({ customerId: "c-sub", planKey: "pro", periodStart: "2026-01-01T00:00:00Z", periodEnd: "2026-02-01T00:00:00Z", revision: 1 });
    await eventually(async () => (await test.client.check({ customerId: "c-sub", meterKey: "tokens" }).catch(() => undefined))?.allowed === true, "the plan and subscription projected");
  }, 30_000);
  afterAll(async () => {
    test?.close();
    await running?.stop();
    await env?.close();
  });

  const read = async () => ({
    allowed: await scrapeMetric(running, "tally_limits_checks_total", { decision: "allowed" }),
    denied: await scrapeMetric(running, "tally_limits_checks_total", { decision: "denied" }),
  });

  it("counts allowed and denied Checks", async () => {
    const before = await read();
    for (let i = 0; i < 3; i++) expect((await test.client.check({ customerId: "c-sub", meterKey: "tokens" })).allowed).toBe(true);
    for (let i = 0; i < 2; i++) expect((await test.client.check({ customerId: "c-nobody", meterKey: "tokens" })).allowed).toBe(false);
    const after = await read();
    expect({ allowed: after.allowed - before.allowed, denied: after.denied - before.denied }).toEqual({ allowed: 3, denied: 2 });
  });
});

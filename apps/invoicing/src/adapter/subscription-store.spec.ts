import { startService, type RunningService } from "@tally/platform";
import { createTestEnvironment, type TestEnvironment } from "@tally/platform/testing";
import { invoicingService } from "../invoicing-service";
import { upsertSubscription } from "./subscription-store";

/**
 * Rating's snapshot lists only the current period's segments. A period that closes after the
 * snapshot of the next one arrived (the usual order at a period end) must still know its plan.
 */
describe("subscription store", () => {
  let env: TestEnvironment;
  let service: RunningService;
  beforeAll(async () => {
    env = await createTestEnvironment();
    service = await startService(invoicingService, env.config("invoicing"));
  });
  afterAll(async () => {
    await service.stop();
    await env.close();
  });

  const segmentsOf = async (id: string) =>
    (await service.deps.pool.query<{ segments: { planKey: string; start: string }[] }>("SELECT segments FROM invoicing.subscriptions WHERE subscription_id = $1", [id])).rows[0]!.segments.map(
      (s) => `${s.planKey}@${s.start.slice(0, 10)}`,
    );
  const snapshot = (revision: number, segments: [string, string][]) => ({
    subscriptionId: "sub_1",
    customerId: "cus_1",
    timeZone: "UTC",
    startTime: new Date("2026-11-01T00:00:00Z"),
    cancelTime: null,
    revision,
    segments: segments.map(([planKey, start]) => ({ planKey, planVersion: 1, start: new Date(start) })),
  });

  it("keeps the earlier periods' segments when a snapshot moves to the next period, and ignores stale revisions", async () => {
    await upsertSubscription(service.deps.pool, snapshot(1, [["starter", "2026-11-01T00:00:00Z"]]));
    await upsertSubscription(service.deps.pool, snapshot(2, [["starter", "2026-11-01T00:00:00Z"], ["pro", "2026-11-11T00:00:00Z"]]));
    await upsertSubscription(service.deps.pool, snapshot(3, [["pro", "2026-12-01T00:00:00Z"]]));
    await upsertSubscription(service.deps.pool, snapshot(2, [["starter", "2026-11-01T00:00:00Z"]]));
    expect(await segmentsOf("sub_1")).toEqual(["starter@2026-11-01", "pro@2026-11-11", "pro@2026-12-01"]);
  });
});

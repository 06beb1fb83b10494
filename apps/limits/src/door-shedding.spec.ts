import * as grpc from "@grpc/grpc-js";
import { startService, type RunningService } from "@tally/platform";
import { createTestEnvironment, scrapeMetric, TEST_KEYS, type TestEnvironment } from "@tally/platform/testing";
import { createLimitsClient } from "../bench/load-generator";
import { limitsService } from "./limits-service";
import { checksShed } from "./service/check-admission";

/**
 * Admission control at the gRPC server's door, as limits sets it: a Check whose deadline leaves
 * less than LIMITS_SHED_MIN_DEADLINE_MS is refused RESOURCE_EXHAUSTED `overloaded` before it runs,
 * and counted as a shed Check. (Set to 5 s here, so a 2 s deadline is refused on any machine;
 * refusals on event-loop lag are covered in the platform's admission and stream-resets specs.)
 */
describe("limits refuses at the door what it cannot serve in time (real gRPC)", () => {
  let env: TestEnvironment;
  let running: RunningService;
  let limits: ReturnType<typeof createLimitsClient>;
  const saved = process.env.LIMITS_SHED_MIN_DEADLINE_MS;

  beforeAll(async () => {
    env = await createTestEnvironment();
    process.env.LIMITS_SHED_MIN_DEADLINE_MS = "5000";
    try {
      running = await startService(limitsService, env.config("limits"));
    } finally {
      if (saved === undefined) delete process.env.LIMITS_SHED_MIN_DEADLINE_MS;
      else process.env.LIMITS_SHED_MIN_DEADLINE_MS = saved;
    }
    limits = createLimitsClient(running.address);
  }, 30_000);

  afterAll(async () => {
    limits?.client.close();
    await running?.stop();
    await env?.close();
  });

  function check(deadlineMs?: number): Promise<grpc.ServiceError | null> {
    const md = new grpc.Metadata();
    md.set("authorization", `Bearer ${TEST_KEYS.all}`);
    const options = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
    return new Promise((resolve) => limits.check({ customerId: "c-door", meterKey: "tokens", quantity: "1" }, md, options, (err) => resolve(err)));
  }

  it("refuses a Check with too short a deadline as RESOURCE_EXHAUSTED overloaded, counted as shed; serves one without", async () => {
    const shedBefore = checksShed.count;
    const metricBefore = await scrapeMetric(running, "tally_limits_checks_total", { decision: "shed" });
    const refused = await check(2_000);
    expect(refused?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused?.metadata.get("tally-error-reason")).toEqual(["overloaded"]);
    expect(checksShed.count - shedBefore).toBe(1);
    expect((await scrapeMetric(running, "tally_limits_checks_total", { decision: "shed" })) - metricBefore).toBe(1);
    // No deadline: nothing to miss, so it runs (and, no plan pricing the meter here, is answered INVALID_ARGUMENT).
    expect((await check())?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(checksShed.count - shedBefore).toBe(1);
  }, 30_000);
});

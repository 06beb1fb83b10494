import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { SUBJECTS } from "@tally/contracts";
import { currentTrace, parseTraceparent } from "@tally/platform";
import { createTestEnvironment, ManualClock, type TestEnvironment } from "@tally/platform/testing";
import { AGG, planInput, publishMeter, publishUsage, startRating, waitForMeters, waitUntil, type RatingInstance } from "./testing/rating-test-kit";

const TRACE_ID = "5c0e3b9a1d2f4e6a8b7c9d0e1f2a3b4c";

/** A UsageRecorded's trace context: restored while rating handles it, and sent on with UsageRated (to limits). */
describe("rating trace context", () => {
  let env: TestEnvironment;
  let svc: RatingInstance;
  const NOW = "2026-03-10T12:00:00Z";

  beforeAll(async () => {
    env = await createTestEnvironment();
    svc = await startRating(env, new ManualClock(NOW));
    await publishMeter(env, "tokens", AGG.SUM);
    await waitForMeters(svc, ["tokens"]);
    await svc.client.createPlan({ plan: planInput("flat", [{ key: "tok", meterKey: "tokens", displayName: "tok", pricing: { case: "price", value: { model: { case: "perUnit", value: { unitAmount: "1" } } } } }]) });
    await svc.client.createSubscription({ customerId: "cus_t", planKey: "flat", startTime: timestampFromDate(new Date("2026-03-01T00:00:00Z")) });
  }, 30_000);
  afterAll(async () => {
    await svc?.stop();
    await env?.close();
  });

  it("handles the message in its trace and sends the trace on with UsageRated", async () => {
    const traces: (string | undefined)[] = [];
    svc.internals.rater.committed.push(() => traces.push(currentTrace()?.traceId));
    await publishUsage(env, [{ id: "t_1", customerId: "cus_t", time: NOW, readings: [{ meterKey: "tokens", aggregation: AGG.SUM, value: "5" }] }], "traced-usage", `00-${TRACE_ID}-a2fb4a1d1a96d312-01`);
    await waitUntil(async () => traces.length === 1, "the event rated");
    expect(traces).toEqual([TRACE_ID]);

    const stream = env.bus.streamName("rating");
    const wanted = env.bus.subject(SUBJECTS.rating.usageRated);
    let header: string | undefined;
    await waitUntil(async () => {
      const info = await env.bus.manager.streams.info(stream);
      for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
        const msg = await env.bus.manager.streams.getMessage(stream, { seq }).catch(() => undefined);
        if (msg?.subject === wanted) header = msg.header?.get("traceparent");
      }
      return header !== undefined;
    }, "UsageRated published");
    expect(parseTraceparent(header)?.traceId).toBe(TRACE_ID);
  });
});

import { ConnectError, Code } from "@connectrpc/connect";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { rating } from "@tally/contracts";
import { createTestEnvironment, ManualClock, type TestEnvironment } from "@tally/platform/testing";
import { AGG, planInput, publishMeter, publishUsage, startRating, waitForEvents, waitForMeters, type RatingInstance } from "./testing/rating-test-kit";

/** PreviewPeriods: whole periods, current or closed, with PreviewInvoice's arithmetic. */
describe("Rating.PreviewPeriods", () => {
  let env: TestEnvironment;
  const clock = new ManualClock("2026-03-05T00:00:00Z");
  let svc: RatingInstance;
  const at = (iso: string) => timestampFromDate(new Date(iso));

  beforeAll(async () => {
    env = await createTestEnvironment();
    svc = await startRating(env, clock);
    await publishMeter(env, "tokens", AGG.SUM);
    await waitForMeters(svc, ["tokens"]);
  }, 30_000);
  afterAll(async () => {
    await svc?.stop();
    await env?.close();
  });

  it("prices a closed period and the current one, in query order", async () => {
    const perUnit = { key: "tok", meterKey: "tokens", displayName: "Tokens", pricing: { case: "price" as const, value: { model: { case: "perUnit" as const, value: { unitAmount: "0.5" } } } } };
    await svc.client.createPlan({ plan: planInput("pp", [perUnit], { recurringFee: { amount: "31", timing: rating.FeeTiming.IN_ARREARS } }) });
    const sub = (await svc.client.createSubscription({ customerId: "c_pp", planKey: "pp", startTime: at("2026-03-01T00:00:00Z") })).subscription!;
    const events = [
      { id: "pp1", customerId: "c_pp", time: "2026-03-03T00:00:00Z", readings: [{ meterKey: "tokens", aggregation: AGG.SUM, value: "10" }] },
    ];
    await publishUsage(env, events);
    await waitForEvents(
      svc,
      events.map((e) => e.id),
    );
    clock.set("2026-04-02T00:00:00Z");
    const res = await svc.client.previewPeriods({
      queries: [
        { subscriptionId: sub.id, time: at("2026-04-01T12:00:00Z") },
        { subscriptionId: sub.id, time: at("2026-03-01T00:00:00Z") },
      ],
    });
    expect(res.previews.map((p) => [p.period!.start, p.period!.end, p.subtotal, p.total])).toEqual([
      [at("2026-04-01T00:00:00Z"), at("2026-05-01T00:00:00Z"), "31", "31.00"],
      [at("2026-03-01T00:00:00Z"), at("2026-04-01T00:00:00Z"), "36", "36.00"], // 31 + 10 × 0.5
    ]);
    expect(res.previews[1]!.lines.map((l) => [l.kind, l.quantity, l.amount])).toEqual([
      [rating.LineKind.RECURRING_FEE, "1", "31"],
      [rating.LineKind.USAGE, "10", "5"],
    ]);
  });

  it("names bad queries and unknown subscriptions", async () => {
    const bad = await svc.client.previewPeriods({ queries: [{ subscriptionId: "", time: undefined }] }).catch((e: unknown) => ConnectError.from(e));
    expect([bad instanceof ConnectError && bad.code, bad instanceof ConnectError && bad.rawMessage]).toEqual([
      Code.InvalidArgument,
      "queries[0].subscription_id: is required; queries[0].time: is required",
    ]);
    const unknown = await svc.client.previewPeriods({ queries: [{ subscriptionId: "sub_nope", time: at("2026-03-01T00:00:00Z") }] }).catch((e: unknown) => ConnectError.from(e));
    expect(unknown instanceof ConnectError && unknown.code).toBe(Code.NotFound);
  });
});

import { ConnectError, Code } from "@connectrpc/connect";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { rating } from "@tally/contracts";
import { Decimal } from "@tally/pricing";
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

  describe("partial periods: fee and minimum prorated against the nominal period, in milliseconds", () => {
    const minimumOnly = { key: "tok", meterKey: "tokens", displayName: "Tokens", pricing: { case: "price" as const, value: { model: { case: "perUnit" as const, value: { unitAmount: "1" } }, minimum: "30" } } };
    const day = 86_400_000;
    const summary = (p: rating.InvoicePreview) => ({
      lines: p.lines.map((l) => [l.kind, l.quantity, l.amount]),
      subtotal: p.subtotal,
      nominal: [p.nominalPeriod!.start, p.nominalPeriod!.end],
      segments: p.segments.map((s) => [s.planKey, s.planVersion, s.period!.start, s.period!.end, s.share]),
    });

    beforeAll(async () => {
      await svc.client.createPlan({ plan: planInput("partial", [minimumOnly], { recurringFee: { amount: "30", timing: rating.FeeTiming.IN_ARREARS } }) });
      await svc.client.createPlan({ plan: planInput("partial_up", [minimumOnly], { recurringFee: { amount: "60", timing: rating.FeeTiming.IN_ADVANCE } }) });
    });

    it("a subscription canceled on day 10 of a 30-day month pays 10/30 of its fee and minimum, not all of it", async () => {
      clock.set("2026-04-05T00:00:00Z");
      const sub = (await svc.client.createSubscription({ customerId: "c_cancel", planKey: "partial", startTime: at("2026-04-01T00:00:00Z") })).subscription!;
      clock.set("2026-04-11T00:00:00Z");
      await svc.client.cancelSubscription({ subscriptionId: sub.id, timing: rating.ChangeTiming.IMMEDIATELY });
      const [p] = (await svc.client.previewPeriods({ queries: [{ subscriptionId: sub.id, time: at("2026-04-05T00:00:00Z") }] })).previews;
      expect([p!.period!.start, p!.period!.end]).toEqual([at("2026-04-01T00:00:00Z"), at("2026-04-11T00:00:00Z")]);
      expect(summary(p!)).toEqual({
        // 30 × 10/30 = 10 each (the old code charged 30 + 30: the clipped period taken as whole)
        lines: [
          [rating.LineKind.RECURRING_FEE, new Decimal(10 * day).div(30 * day).toFixed(), "10"],
          [rating.LineKind.USAGE, "0", "0"],
          [rating.LineKind.MINIMUM_TRUE_UP, "1", "10"],
        ],
        subtotal: "20",
        nominal: [at("2026-04-01T00:00:00Z"), at("2026-05-01T00:00:00Z")],
        segments: [["partial", 1, at("2026-04-01T00:00:00Z"), at("2026-04-11T00:00:00Z"), new Decimal(10 * day).div(30 * day).toFixed()]],
      });
    });

    it("a first CALENDAR period starting on April 21 pays 10/30 of its fee and minimum", async () => {
      const sub = (await svc.client.createSubscription({ customerId: "c_first", planKey: "partial", startTime: at("2026-04-21T00:00:00Z") })).subscription!;
      clock.set("2026-05-01T00:00:00Z");
      const [p] = (await svc.client.previewPeriods({ queries: [{ subscriptionId: sub.id, time: at("2026-04-21T00:00:00Z") }] })).previews;
      expect([p!.period!.start, p!.period!.end]).toEqual([at("2026-04-21T00:00:00Z"), at("2026-05-01T00:00:00Z")]);
      expect(summary(p!).lines.map((l) => l[2])).toEqual(["10", "0", "10"]);
      expect(summary(p!).nominal).toEqual([at("2026-04-01T00:00:00Z"), at("2026-05-01T00:00:00Z")]);
      // The next period is whole: share 1, nothing prorated.
      const [next] = (await svc.client.previewPeriods({ queries: [{ subscriptionId: sub.id, time: at("2026-05-01T00:00:00Z") }] })).previews;
      expect(summary(next!).lines.map((l) => l[2])).toEqual(["30", "0", "30"]);
      expect(next!.segments.map((s) => s.share)).toEqual(["1"]);
    });

    it("names each segment's plan version and share, from the history it priced with", async () => {
      const sub = (await svc.client.createSubscription({ customerId: "c_seg", planKey: "partial", startTime: at("2026-05-01T00:00:00Z") })).subscription!;
      clock.set("2026-05-11T00:00:00Z"); // day 10 of 31
      await svc.client.changePlan({ subscriptionId: sub.id, planKey: "partial_up", timing: rating.ChangeTiming.IMMEDIATELY });
      const [p] = (await svc.client.previewPeriods({ queries: [{ subscriptionId: sub.id, time: at("2026-05-01T00:00:00Z") }] })).previews;
      expect(summary(p!).segments).toEqual([
        ["partial", 1, at("2026-05-01T00:00:00Z"), at("2026-05-11T00:00:00Z"), new Decimal(10 * day).div(31 * day).toFixed()],
        ["partial_up", 1, at("2026-05-11T00:00:00Z"), at("2026-06-01T00:00:00Z"), new Decimal(21 * day).div(31 * day).toFixed()],
      ]);
      expect(summary(p!).nominal).toEqual([at("2026-05-01T00:00:00Z"), at("2026-06-01T00:00:00Z")]);
      // PreviewInvoice carries the same segments.
      const current = (await svc.client.previewInvoice({ customerId: "c_seg" })).preview!;
      expect(current.segments.map((s) => [s.planKey, s.share])).toEqual(p!.segments.map((s) => [s.planKey, s.share]));
    });
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

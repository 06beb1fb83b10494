import { ConnectError, Code } from "@connectrpc/connect";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { common, rating, SUBJECTS } from "@tally/contracts";
import { Decimal } from "@tally/pricing";
import { createTestEnvironment, ManualClock, type TestEnvironment } from "@tally/platform/testing";
import { AGG, rateEvents, planInput, publishMeter, publishedMessages, startRating, waitForMeters, waitUntil, type RatingInstance, type TestEvent } from "./testing/rating-test-kit";

/** Plan changes, period boundaries and the read rpcs (preview, forecast, quote), end to end. */
describe("rating reads and plan changes", () => {
  let env: TestEnvironment;
  let clock: ManualClock;
  let svc: RatingInstance;
  const at = (iso: string) => timestampFromDate(new Date(iso));

  beforeAll(async () => {
    env = await createTestEnvironment();
    clock = new ManualClock("2026-04-10T00:00:00Z");
    svc = await startRating(env, clock);
    await publishMeter(env, "tokens", AGG.SUM);
    await publishMeter(env, "seats", AGG.MAX);
    await waitForMeters(svc, ["tokens", "seats"]);
  }, 30_000);
  afterAll(async () => {
    await svc?.stop();
    await env?.close();
  });

  let n = 0;
  const tokens = (customerId: string, value: string, time: string): TestEvent => ({
    id: `e${++n}`,
    customerId,
    time,
    readings: [{ meterKey: "tokens", aggregation: AGG.SUM, value }],
  });
  const rate = (events: TestEvent[]) => rateEvents(env, svc, events);
  const perUnit = (unitAmount: string, extra: Record<string, string> = {}) => ({
    key: "tok",
    meterKey: "tokens",
    displayName: "Tokens",
    pricing: { case: "price" as const, value: { model: { case: "perUnit" as const, value: { unitAmount } }, ...extra } },
  });
  const fee = (amount: string) => ({ recurringFee: { amount, timing: rating.FeeTiming.IN_ADVANCE } });

  it("splits the period on an immediate plan change and rates each segment with its plan", async () => {
    await svc.client.createPlan({ plan: planInput("small", [perUnit("1")], fee("30")) });
    await svc.client.createPlan({ plan: planInput("large", [perUnit("2")], fee("60")) });
    clock.set("2026-04-10T00:00:00Z");
    const sub = (await svc.client.createSubscription({ customerId: "c_change", planKey: "small", startTime: at("2026-04-01T00:00:00Z") })).subscription!;
    await rate([tokens("c_change", "10", "2026-04-05T00:00:00Z")]);
    clock.set("2026-04-16T00:00:00Z"); // half of April's 30 days
    const changed = (await svc.client.changePlan({ subscriptionId: sub.id, planKey: "large", timing: rating.ChangeTiming.IMMEDIATELY })).subscription!;
    expect(changed.segments.map((s) => [s.planKey, s.range!.start, s.range!.end])).toEqual([
      ["small", at("2026-04-01T00:00:00Z"), at("2026-04-16T00:00:00Z")],
      ["large", at("2026-04-16T00:00:00Z"), at("2026-05-01T00:00:00Z")],
    ]);
    clock.set("2026-04-21T00:00:00Z");
    // The late event (Apr 12) belongs to the first segment: rating follows the event time.
    await rate([tokens("c_change", "5", "2026-04-20T00:00:00Z"), tokens("c_change", "1", "2026-04-12T00:00:00Z")]);
    const usage = await svc.client.getCurrentUsage({ customerId: "c_change" });
    expect(usage.components.map((c) => [c.planKey, c.quantity, c.amount!.amount])).toEqual([
      ["small", "11", "11"],
      ["large", "5", "10"],
    ]);
    const preview = (await svc.client.previewInvoice({ customerId: "c_change" })).preview!;
    // Fees in advance: small's whole 30, its unused half credited (−15), large's half 30; usage
    // 11 × 1 + 5 × 2. 30 − 15 + 11 + 30 + 10 = 66 (the same total as prorating each segment).
    expect(preview.lines.map((l) => [l.kind, l.quantity, l.amount])).toEqual([
      [rating.LineKind.RECURRING_FEE, "1", "30"],
      [rating.LineKind.RECURRING_FEE, "-0.5", "-15"],
      [rating.LineKind.USAGE, "11", "11"],
      [rating.LineKind.RECURRING_FEE, "0.5", "30"],
      [rating.LineKind.USAGE, "5", "10"],
    ]);
    expect([preview.subtotal, preview.total]).toEqual(["66", "66.00"]);
    const kinds = (await publishedMessages(env, svc, SUBJECTS.rating.subscriptionChanged, rating.SubscriptionChangedSchema))
      .filter((m) => m.subscription?.id === sub.id)
      .map((m) => m.kind);
    expect(kinds).toEqual([rating.ChangeKind.CREATED, rating.ChangeKind.PLAN_CHANGED]);
  });

  it("rejects a backdated or cross-currency change", async () => {
    await svc.client.createPlan({ plan: planInput("euro", [perUnit("1")], { currency: "EUR" }) });
    clock.set("2026-04-10T00:00:00Z");
    const sub = (await svc.client.createSubscription({ customerId: "c_reject", planKey: "small" })).subscription!;
    const fail = async (req: { planKey?: string; effectiveTime?: ReturnType<typeof at> }) => {
      try {
        await svc.client.changePlan({ subscriptionId: sub.id, planKey: "large", timing: rating.ChangeTiming.IMMEDIATELY, ...req });
      } catch (err) {
        return ConnectError.from(err);
      }
      throw new Error("expected a failure");
    };
    expect((await fail({ planKey: "euro" })).code).toBe(Code.InvalidArgument);
    expect((await fail({ effectiveTime: at("2026-04-09T00:00:00Z") })).rawMessage).toContain("effective_time");
  });

  it("applies a change scheduled for the period end at the boundary and announces it", async () => {
    await svc.client.createPlan({ plan: planInput("daily_a", [perUnit("1")], { billingInterval: rating.BillingInterval.DAY }) });
    await svc.client.createPlan({ plan: planInput("daily_b", [perUnit("3")], { billingInterval: rating.BillingInterval.DAY }) });
    clock.set("2026-04-10T12:00:00Z");
    const sub = (await svc.client.createSubscription({ customerId: "c_sched", planKey: "daily_a", startTime: at("2026-04-10T00:00:00Z") })).subscription!;
    const scheduled = (await svc.client.changePlan({ subscriptionId: sub.id, planKey: "daily_b", timing: rating.ChangeTiming.AT_PERIOD_END })).subscription!;
    expect(scheduled.pendingChange).toMatchObject({ kind: rating.PendingChangeKind.PLAN_CHANGE, planKey: "daily_b", effectiveTime: at("2026-04-11T00:00:00Z") });
    expect(scheduled.planKey).toBe("daily_a");
    await rate([tokens("c_sched", "5", "2026-04-10T13:00:00Z")]);
    clock.set("2026-04-11T00:30:00Z");
    await rate([tokens("c_sched", "5", "2026-04-11T00:10:00Z")]);
    const usage = await svc.client.getCurrentUsage({ customerId: "c_sched" });
    expect(usage.period).toMatchObject({ start: at("2026-04-11T00:00:00Z"), end: at("2026-04-12T00:00:00Z") });
    expect(usage.components.map((c) => [c.planKey, c.quantity, c.amount!.amount])).toEqual([["daily_b", "5", "15"]]);
    await waitUntil(async () => {
      const kinds = (await publishedMessages(env, svc, SUBJECTS.rating.subscriptionChanged, rating.SubscriptionChangedSchema))
        .filter((m) => m.subscription?.id === sub.id)
        .map((m) => m.kind);
      return kinds.includes(rating.ChangeKind.PLAN_CHANGED);
    }, "PLAN_CHANGED announcement");
    expect((await svc.client.getSubscription({ subscriptionId: sub.id })).subscription!.planKey).toBe("daily_b");
  });

  it("rates an instant into the period of each customer's own time zone", async () => {
    clock.set("2026-03-31T20:00:00Z");
    await svc.client.createSubscription({ customerId: "c_utc", planKey: "small", startTime: at("2026-03-01T00:00:00Z") });
    await svc.client.createSubscription({ customerId: "c_berlin", planKey: "small", startTime: at("2026-03-01T00:00:00Z"), timeZone: "Europe/Berlin" });
    await svc.client.createSubscription({ customerId: "c_ny", planKey: "small", startTime: at("2026-03-01T00:00:00Z"), timeZone: "America/New_York" });
    // 22:30 UTC on March 31 is already April 1 in Berlin (CEST, +2), still March elsewhere.
    const t = "2026-03-31T22:30:00Z";
    clock.set("2026-03-31T23:00:00Z");
    await rate([tokens("c_utc", "1", t), tokens("c_berlin", "1", t), tokens("c_ny", "1", t)]);
    const period = async (c: string) => (await svc.client.getCurrentUsage({ customerId: c })).components[0]!;
    expect(await period("c_berlin")).toMatchObject({ quantity: "1", period: { start: at("2026-03-31T22:00:00Z"), end: at("2026-04-30T22:00:00Z") } });
    expect(await period("c_utc")).toMatchObject({ quantity: "1", period: { start: at("2026-03-01T00:00:00Z"), end: at("2026-04-01T00:00:00Z") } });
    expect(await period("c_ny")).toMatchObject({ quantity: "1", period: { start: at("2026-03-01T05:00:00Z"), end: at("2026-04-01T04:00:00Z") } });
  });

  it("forecasts with tiers applied to the projected quantity, per customer and over all", async () => {
    const tiered = {
      key: "tok",
      meterKey: "tokens",
      displayName: "Tokens",
      pricing: {
        case: "price" as const,
        value: { model: { case: "graduated" as const, value: { tiers: [{ upTo: "200", unitAmount: "1" }, { unitAmount: "0.5" }] } } },
      },
    };
    await svc.client.createPlan({ plan: planInput("fc", [tiered], { currency: "GBP", ...fee("10") }) });
    clock.set("2026-04-01T00:00:00Z");
    await svc.client.createSubscription({ customerId: "c_fc1", planKey: "fc", startTime: at("2026-04-01T00:00:00Z") });
    await svc.client.createSubscription({ customerId: "c_fc2", planKey: "fc", startTime: at("2026-04-01T00:00:00Z") });
    clock.set("2026-04-08T12:00:00Z"); // 7.5 of 30 days
    await rate([tokens("c_fc1", "100", "2026-04-02T00:00:00Z"), tokens("c_fc2", "40", "2026-04-03T00:00:00Z")]);
    const f = await svc.client.forecast({ customerId: "c_fc1" });
    // to date: 10 + 100 × 1 = 110
    expect(f).toMatchObject({ currency: "GBP", elapsedFraction: "0.25", amountToDate: "110" });
    const c = f.components[0]!;
    expect(c).toMatchObject({ quantityToDate: "100", amountToDate: "100" });
    // A graduated price never falls, so the P50 amount is the price of the P50 quantity, tiers applied.
    const graduated = (q: Decimal) => (q.lte(200) ? q : q.minus(200).times("0.5").plus(200));
    for (const k of ["p10", "p50", "p90"] as const) expect(c.amount![k]).toBe(graduated(new Decimal(c.quantity![k])).toFixed());
    expect(f.projectedAmount).toBe(new Decimal(c.projectedAmount).plus(10).toFixed());
    const all = await svc.client.forecastRevenue({ currency: "GBP" });
    // c_fc2: to date 10 + 40 = 50
    expect(all).toMatchObject({ subscriptionCount: 2, amountToDate: "160" });
    expect(new Decimal(all.projectedAmount).gte(160)).toBe(true);
  });

  it("quotes a plan: fee, tiers, minimum true-up and maximum cap, rounded once", async () => {
    await svc.client.createPlan({
      plan: planInput(
        "quoted",
        [
          perUnit("0.0015", { minimum: "50" }),
          {
            key: "seat",
            meterKey: "seats",
            displayName: "Seats",
            pricing: { case: "price", value: { model: { case: "graduated", value: { tiers: [{ upTo: "10", unitAmount: "5" }, { unitAmount: "4", flatAmount: "20" }] } }, includedUnits: "2", maximum: "100" } },
          },
        ],
        fee("10"),
      ),
    });
    const q = await svc.client.quote({ planKey: "quoted", quantities: [{ componentKey: "tok", quantity: "3" }, { componentKey: "seat", quantity: "32" }] });
    expect(q.lines.map((l) => [l.kind, l.componentKey, l.amount])).toEqual([
      [rating.LineKind.RECURRING_FEE, "", "10"],
      [rating.LineKind.USAGE, "tok", "0.0045"],
      [rating.LineKind.MINIMUM_TRUE_UP, "tok", "49.9955"],
      // 30 billable seats: 10 × 5 + 20 × 4 + 20 = 150, capped at 100
      [rating.LineKind.USAGE, "seat", "150"],
      [rating.LineKind.MAXIMUM_ADJUSTMENT, "seat", "-50"],
    ]);
    const seat = q.lines[3]!;
    expect(seat.details.map((d) => [d.included, d.tierIndex, d.lowerBound, d.upperBound, d.quantity, d.subtotal])).toEqual([
      [true, 0, "", "", "2", "0"],
      [false, 0, "0", "10", "10", "50"],
      [false, 1, "10", "", "20", "100"],
    ]);
    expect([q.subtotal, q.total]).toEqual(["160", "160.00"]);
    const q2 = await svc.client.quote({ planKey: "small", quantities: [{ componentKey: "tok", quantity: "0.0049" }] });
    expect([q2.subtotal, q2.total]).toEqual(["30.0049", "30.00"]);
    await expect(svc.client.quote({ planKey: "quoted", quantities: [{ componentKey: "nope", quantity: "1" }, { componentKey: "tok", quantity: "-1" }] })).rejects.toThrow(
      /quantities\[0\]\.component_key.*quantities\[1\]\.quantity/,
    );
    const both = await svc.client.quote({ planKey: "quoted", quantities: [{ componentKey: "nope", quantity: "-1" }] }).catch((e: unknown) => ConnectError.from(e));
    expect(both).toBeInstanceOf(ConnectError);
    expect((both as ConnectError).message).toMatch(/quantities\[0\]\.quantity.*quantities\[0\]\.component_key/);
    expect((both as ConnectError).findDetails(common.ErrorDetailSchema)[0]?.fieldViolations.map((f) => `${f.field} ${f.code}`)).toEqual([
      "quantities[0].quantity negative",
      "quantities[0].component_key unknown_reference",
    ]);
    await expect(svc.client.getPlan({ key: "", version: -1 })).rejects.toThrow(/key: is required; version: must be >= 0/);
  });

  it("writes rounded totals with exactly the currency's minor digits", async () => {
    await svc.client.createPlan({ plan: planInput("usd_round", [perUnit("1.25")]) });
    await svc.client.createPlan({ plan: planInput("jpy_round", [perUnit("125")], { currency: "JPY" }) });
    await svc.client.createPlan({ plan: planInput("kwd_round", [perUnit("0.125")], { currency: "KWD" }) });
    const total = async (planKey: string, quantity: string) => (await svc.client.quote({ planKey, quantities: [{ componentKey: "tok", quantity }] })).total;
    expect(await total("usd_round", "8")).toBe("10.00");
    expect(await total("usd_round", "10")).toBe("12.50");
    expect(await total("jpy_round", "10")).toBe("1250");
    expect(await total("kwd_round", "10")).toBe("1.250");
  });
});

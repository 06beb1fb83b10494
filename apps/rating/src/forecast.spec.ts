import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { rating } from "@tally/contracts";
import { Decimal } from "@tally/pricing";
import { createTestEnvironment, ManualClock, type TestEnvironment } from "@tally/platform/testing";
import { AGG, rateEvents, planInput, publishMeter, publishUsage, startRating, waitForMeters, waitForUsageConsumed, type RatingInstance, type TestEvent } from "./testing/rating-test-kit";

/**
 * #15 against real Postgres and NATS with a manual clock: the daily rollup rating keeps as it
 * rates, Forecast on it (the early-period and post-change cases, ranges, every component,
 * the exact fraction) and ForecastRevenue over a calendar window.
 */
describe("forecasts", () => {
  let env: TestEnvironment;
  let clock: ManualClock;
  let svc: RatingInstance;
  const at = (iso: string) => timestampFromDate(new Date(iso));
  const d = (s: string | number) => new Decimal(s);

  beforeAll(async () => {
    env = await createTestEnvironment();
    clock = new ManualClock("2026-10-01T00:00:00Z");
    svc = await startRating(env, clock);
    await publishMeter(env, "tokens", AGG.SUM, ["model"]);
    await publishMeter(env, "seats", AGG.MAX);
    await waitForMeters(svc, ["tokens", "seats"]);
    const perUnit = (key: string, meterKey: string, unitAmount: string) => ({
      key,
      meterKey,
      displayName: key,
      pricing: { case: "price" as const, value: { model: { case: "perUnit" as const, value: { unitAmount } } } },
    });
    await svc.client.createPlan({ plan: planInput("fc_one", [perUnit("tok", "tokens", "1"), perUnit("seats", "seats", "5")]) });
    await svc.client.createPlan({ plan: planInput("fc_two", [perUnit("tok", "tokens", "2")]) });
    const arrears = { recurringFee: { amount: "100", timing: rating.FeeTiming.IN_ARREARS }, currency: "EUR" };
    await svc.client.createPlan({ plan: planInput("fc_eur", [perUnit("tok", "tokens", "1")], arrears) });
  }, 30_000);
  afterAll(async () => {
    await svc?.stop();
    await env?.close();
  });

  let n = 0;
  const tokens = (customerId: string, value: string, time: string): TestEvent => ({
    id: `fc${++n}`,
    customerId,
    time,
    readings: [{ meterKey: "tokens", aggregation: AGG.SUM, value }],
  });
  const rate = (events: TestEvent[]) => rateEvents(env, svc, events);
  /** `perDay` units at noon UTC of each day from `from` (inclusive) to `to` (exclusive). */
  function daily(customerId: string, perDay: string, from: string, to: string): TestEvent[] {
    const out: TestEvent[] = [];
    for (let t = Date.parse(`${from}T12:00:00Z`); t < Date.parse(`${to}T00:00:00Z`); t += 86_400_000) out.push(tokens(customerId, perDay, new Date(t).toISOString()));
    return out;
  }
  async function subscribe(customerId: string, planKey: string, start: string, extra: { timeZone?: string; anchor?: rating.BillingAnchor } = {}) {
    return (await svc.client.createSubscription({ customerId, planKey, startTime: at(start), ...extra })).subscription!;
  }
  async function dailyRows(subscriptionId: string) {
    const { rows } = await svc.running.deps.pool.query<{ component_key: string; day_start: Date; quantity: string }>(
      "SELECT component_key, day_start, quantity::text FROM daily_usage WHERE subscription_id = $1 ORDER BY day_start",
      [subscriptionId],
    );
    return rows.map((r) => [r.component_key, r.day_start.toISOString(), d(r.quantity).toFixed()]);
  }
  const ordered = (r: rating.ForecastRange | undefined) => d(r!.p10).lte(r!.p50) && d(r!.p50).lte(r!.p90);

  it("keeps daily usage per local day as it rates, each event once, additive components only", async () => {
    clock.set("2026-10-20T12:00:00Z");
    const sub = await subscribe("c_roll", "fc_one", "2026-10-01T00:00:00+02:00", { timeZone: "Europe/Berlin" });
    const events: TestEvent[] = [
      tokens("c_roll", "5", "2026-10-10T21:30:00Z"), // 23:30 on Oct 10 in Berlin
      tokens("c_roll", "7", "2026-10-10T22:30:00Z"), // 00:30 on Oct 11 in Berlin: the next local day
      { id: `fc${++n}`, customerId: "c_roll", time: "2026-10-10T22:30:00Z", readings: [{ meterKey: "seats", aggregation: AGG.MAX, value: "3" }] },
    ];
    await rate(events);
    // The same events again in another message (a producer retry): claimed already, not added.
    await publishUsage(env, events);
    await waitForUsageConsumed(env);
    expect(await dailyRows(sub.id)).toEqual([
      ["tok", "2026-10-09T22:00:00.000Z", "5"],
      ["tok", "2026-10-10T22:00:00.000Z", "7"],
    ]);
  });

  it("ten units two minutes into a period: projected from last period's 100 a day, not the two-minute run-rate", async () => {
    clock.set("2026-10-31T23:00:00Z");
    await subscribe("c_early", "fc_two", "2026-10-01T00:00:00Z");
    await rate(daily("c_early", "100", "2026-10-01", "2026-11-01"));
    clock.set("2026-11-01T00:02:00Z");
    await rate([tokens("c_early", "10", "2026-11-01T00:01:00Z")]);
    const f = await svc.client.forecast({ customerId: "c_early" });
    const tok = f.components.find((c) => c.componentKey === "tok")!;
    // The straight line said 10 ÷ (2 min ÷ 30 days) = 216,000 units; the October days say ≈ 3,000.
    expect(d(tok.projectedQuantity).toNumber()).toBeGreaterThan(2_000);
    expect(d(tok.projectedQuantity).toNumber()).toBeLessThan(4_500);
    expect(tok.basis).toBe(rating.ForecastBasis.HISTORY);
    expect(ordered(tok.quantity) && ordered(tok.amount) && ordered(f.amount)).toBe(true);
    expect(d(tok.quantity!.p10).gte(10)).toBe(true);
    // No path beyond 10 × the largest previous period (3,100 units).
    expect(d(tok.quantity!.p90).lte(31_000)).toBe(true);
    // Priced through the plan: 2 per unit; the total's P50 is the component's.
    expect(tok.projectedAmount).toBe(d(tok.projectedQuantity).times(2).toFixed());
    expect(f.projectedAmount).toBe(tok.projectedAmount);
    expect(f.amount!.p50).toBe(f.projectedAmount);
  });

  it("a new customer two minutes in leans on the plan's cohort", async () => {
    await subscribe("c_new", "fc_two", "2026-11-01T00:00:00Z");
    await rate([tokens("c_new", "10", "2026-11-01T00:01:30Z")]);
    const tok = (await svc.client.forecast({ customerId: "c_new" })).components[0]!;
    expect(tok.basis).toBe(rating.ForecastBasis.COHORT);
    // c_early's 100 a day is the prior: thousands, not the 216,000 of the straight line.
    expect(d(tok.projectedQuantity).toNumber()).toBeLessThan(10_000);
    expect(d(tok.projectedQuantity).toNumber()).toBeGreaterThan(10);
  });

  it("after an immediate upgrade with no usage yet: the old 80 a day goes on, priced with the new plan", async () => {
    clock.set("2026-10-31T23:00:00Z");
    const sub = await subscribe("c_up", "fc_one", "2026-10-01T00:00:00Z");
    await rate(daily("c_up", "80", "2026-10-01", "2026-11-01"));
    clock.set("2026-11-15T00:00:00Z");
    await rate(daily("c_up", "80", "2026-11-01", "2026-11-15"));
    await svc.client.changePlan({ subscriptionId: sub.id, planKey: "fc_two", timing: rating.ChangeTiming.IMMEDIATELY });
    clock.set("2026-11-15T00:02:00Z");
    const f = await svc.client.forecast({ customerId: "c_up" });
    const tok = f.components.find((c) => c.componentKey === "tok")!;
    expect(tok.quantityToDate).toBe("0");
    // 16 days left at ≈ 80: ≈ 1,280 on the new plan (the straight line said 0, or millions).
    expect(d(tok.projectedQuantity).toNumber()).toBeGreaterThan(900);
    expect(d(tok.projectedQuantity).toNumber()).toBeLessThan(1_700);
    expect(ordered(tok.quantity)).toBe(true);
    // Usage before the change counts at its actual amount: 14 × 80 × 1 on fc-one.
    expect(d(f.amountToDate).toFixed()).toBe("1120");
    expect(d(f.projectedAmount).toFixed()).toBe(d("1120").plus(tok.projectedAmount).toFixed());
  });

  it("lists every component at zero, holds MAX as it stands, and returns the exact elapsed fraction", async () => {
    clock.set("2026-11-20T07:13:14.159Z");
    await subscribe("c_zero", "fc_one", "2026-11-01T00:00:00Z");
    const f = await svc.client.forecast({ customerId: "c_zero" });
    expect(f.components.map((c) => [c.componentKey, c.quantityToDate, c.projectedQuantity, c.projectedAmount, c.basis])).toEqual([
      // 19 whole days of nothing are history enough: still nothing.
      ["tok", "0", "0", "0", rating.ForecastBasis.HISTORY],
      ["seats", "0", "0", "0", rating.ForecastBasis.NOT_EXTRAPOLATED],
    ]);
    const elapsed = Date.parse("2026-11-20T07:13:14.159Z") - Date.parse("2026-11-01T00:00:00Z");
    expect([f.elapsedMillis, f.periodMillis]).toEqual([BigInt(elapsed), BigInt(30 * 86_400_000)]);
    expect(f.elapsedFraction).toBe(d(elapsed).div(30 * 86_400_000).toDecimalPlaces(12).toFixed());
  });

  it("ForecastRevenue for December: periods ending in it, finals of canceled subscriptions, booked vs projected", async () => {
    clock.set("2026-11-20T00:00:00Z");
    const a = await subscribe("c_rev_a", "fc_eur", "2026-11-01T00:00:00Z");
    const b = await subscribe("c_rev_b", "fc_eur", "2026-11-11T00:00:00Z", { anchor: rating.BillingAnchor.ANNIVERSARY });
    const c = await subscribe("c_rev_c", "fc_eur", "2026-11-01T00:00:00Z");
    await rate([tokens("c_rev_a", "50", "2026-11-05T00:00:00Z"), ...daily("c_rev_b", "10", "2026-11-11", "2026-11-20")]);
    clock.set("2026-12-05T00:00:00Z");
    await rate([tokens("c_rev_c", "3", "2026-12-02T00:00:00Z"), ...daily("c_rev_b", "10", "2026-11-20", "2026-12-05")]);
    await svc.client.cancelSubscription({ subscriptionId: c.id, timing: rating.ChangeTiming.IMMEDIATELY });
    clock.set("2026-12-10T00:00:00Z");
    const window = { kind: rating.CalendarWindowKind.MONTH, year: 2026, month: 12, timeZone: "UTC" };
    // b's stored projection may be from Dec 5 (inputs unchanged since: a call would sum it as of
    // then, billings_dated 1); the refresher's periodic sweep replaces it, as here.
    await svc.internals.refresher.refreshAll();
    const r = await svc.client.forecastRevenue({ currency: "EUR", window });
    expect([r.billingsDated, r.billingsNotProjected]).toEqual([0, 0]);
    expect(r.window).toMatchObject({ start: at("2026-12-01T00:00:00Z"), end: at("2027-01-01T00:00:00Z") });
    // a: November (ended Dec 1); b: Nov 11 – Dec 11, still open; c: November and its final, Dec 1–5.
    expect([r.subscriptionCount, r.billingCount]).toEqual([3, 4]);
    const previews = await svc.client.previewPeriods({
      queries: [
        { subscriptionId: a.id, time: at("2026-11-15T00:00:00Z") },
        { subscriptionId: c.id, time: at("2026-11-15T00:00:00Z") },
        { subscriptionId: c.id, time: at("2026-12-02T00:00:00Z") },
        { subscriptionId: b.id, time: at("2026-12-09T00:00:00Z") },
      ],
    });
    const [aNov, cNov, cFinal, bOpen] = previews.previews.map((p) => d(p.subtotal));
    // Booked at what invoicing will bill (its drafts come from PreviewPeriods): a 100 + 50, c 100, c's final.
    expect(aNov!.toFixed()).toBe("150");
    expect(d(r.bookedAmount).toFixed()).toBe(aNov!.plus(cNov!).plus(cFinal!).toFixed());
    expect(d(r.amountToDate).toFixed()).toBe(d(r.bookedAmount).plus(bOpen!).toFixed());
    // b's open period: 29 of its 30 days at 10 a day, the last day projected on top.
    const projectedB = d(r.projectedAmount).minus(r.bookedAmount);
    expect(projectedB.gt(bOpen!)).toBe(true);
    expect(projectedB.lt(bOpen!.plus(40))).toBe(true);
    expect(d(r.projectedUnbookedAmount).toFixed()).toBe(projectedB.toFixed());
    expect(ordered(r.amount) && d(r.amount!.p10).gte(r.bookedAmount)).toBe(true);
    expect(r.projectedTotal).toBe(d(r.projectedAmount).toDecimalPlaces(2).toFixed(2));
    // Asked again with nothing changed: the same figures (b's stored projection). New usage on b
    // changes its inputs' version, so it is projected afresh: to date + 7 (per unit 1).
    const again = await svc.client.forecastRevenue({ currency: "EUR", window });
    expect([again.amountToDate, again.amount]).toEqual([r.amountToDate, r.amount]);
    await rate([tokens("c_rev_b", "7", "2026-12-09T23:00:00Z")]);
    const moved = await svc.client.forecastRevenue({ currency: "EUR", window });
    expect(moved.amountToDate).toBe(d(r.amountToDate).plus(7).toFixed());
    expect(d(moved.projectedAmount).gt(r.projectedAmount)).toBe(true);
  });

  it("names the bad field of a window", async () => {
    const failure = (window: Parameters<typeof svc.client.forecastRevenue>[0]["window"]) =>
      svc.client.forecastRevenue({ currency: "EUR", window }).then(() => undefined, (e: unknown) => ConnectError.from(e));
    const quarter = await failure({ kind: rating.CalendarWindowKind.QUARTER, year: 2026, quarter: 5, timeZone: "UTC" });
    expect([quarter?.code, quarter?.rawMessage]).toEqual([Code.InvalidArgument, expect.stringContaining("window.quarter")]);
    const zone = await failure({ kind: rating.CalendarWindowKind.MONTH, year: 2026, month: 1, timeZone: "Mars/Base" });
    expect([zone?.code, zone?.rawMessage]).toEqual([Code.InvalidArgument, expect.stringContaining("window.time_zone")]);
  });

  it("contract: proration is milliseconds over milliseconds (plan.proto), not seconds", async () => {
    await svc.client.createPlan({ plan: planInput("fc_eur2", [], { recurringFee: { amount: "100", timing: rating.FeeTiming.IN_ARREARS }, currency: "EUR" }) });
    clock.set("2026-11-10T00:00:00Z");
    const sub = await subscribe("c_ms", "fc_eur", "2026-11-01T00:00:00Z");
    clock.set("2026-11-16T00:00:00.500Z");
    await svc.client.changePlan({ subscriptionId: sub.id, planKey: "fc_eur2", timing: rating.ChangeTiming.IMMEDIATELY });
    const preview = (await svc.client.previewInvoice({ customerId: "c_ms" })).preview!;
    const fees = preview.lines.filter((l) => l.kind === rating.LineKind.RECURRING_FEE).map((l) => l.amount);
    const month = 30 * 86_400_000;
    const first = 15 * 86_400_000 + 500;
    // 100 × 1,296,000,500 ms ÷ 2,592,000,000 ms, to 12 places; by whole seconds it would be exactly 50.
    expect(fees).toEqual([d("100").times(first).div(month).toDecimalPlaces(12).toFixed(), d("100").times(month - first).div(month).toDecimalPlaces(12).toFixed()]);
    expect(fees[0]).not.toBe("50");
  });

  it("contract: a backdated ChangePlan is rejected (INVALID_ARGUMENT), as rating.proto now documents", async () => {
    clock.set("2026-11-20T00:00:00Z");
    const sub = await subscribe("c_back", "fc_one", "2026-11-01T00:00:00Z");
    const err = await svc.client
      .changePlan({ subscriptionId: sub.id, planKey: "fc_two", timing: rating.ChangeTiming.IMMEDIATELY, effectiveTime: at("2026-11-19T00:00:00Z") })
      .then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage).toContain("effective_time: backdated changes are not supported");
    expect((await svc.client.getSubscription({ subscriptionId: sub.id })).subscription!.segments).toHaveLength(1);
  });
});

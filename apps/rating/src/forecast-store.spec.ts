import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { PricerCache } from "@tally/plan-pricing";
import { rating } from "@tally/contracts";
import { Decimal } from "@tally/pricing";
import { createTestEnvironment, ManualClock, type TestEnvironment } from "@tally/platform/testing";
import { DimensionalPricerCache } from "./domain/invoice-lines";
import { Forecaster } from "./service/forecaster";
import { PlanCatalog } from "./service/plan-catalog";
import { AGG, planInput, publishMeter, rateEvents, startRating, waitForMeters, waitUntil, type RatingInstance, type TestEvent } from "./testing/rating-test-kit";

/**
 * #15 performance: ForecastRevenue sums stored projections (billing_projection) that the
 * refresher keeps fresh off the request path. Against real Postgres and NATS, manual clock: the
 * stored path gives exactly what projecting on request gives, new usage re-projects only the
 * customer it belongs to, and a day boundary makes every row stale.
 */
describe("stored projections", () => {
  let env: TestEnvironment;
  let clock: ManualClock;
  let svc: RatingInstance;
  const at = (iso: string) => timestampFromDate(new Date(iso));
  const april = { currency: "USD", window: { kind: rating.CalendarWindowKind.MONTH, year: 2027, month: 4, timeZone: "UTC" } };
  const customers = ["s_grad", "s_vol", "s_fee", "s_new", "s_change", "s_berlin"];

  let n = 0;
  const tokens = (customerId: string, value: string, time: string): TestEvent => ({
    id: `st${++n}`,
    customerId,
    time,
    readings: [{ meterKey: "tokens", aggregation: AGG.SUM, value }],
  });
  /** `base` units (± a weekday swing) at noon UTC of each day from `from` (inclusive) to `to` (exclusive). */
  function daily(customerId: string, base: number, from: string, to: string): TestEvent[] {
    const out: TestEvent[] = [];
    for (let t = Date.parse(`${from}T12:00:00Z`); t < Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
      const day = new Date(t);
      out.push(tokens(customerId, String(Math.round(base * (day.getUTCDay() % 6 === 0 ? 0.5 : 1.2) + (day.getUTCDate() % 5))), day.toISOString()));
    }
    return out;
  }
  const onRequest = () => svc.internals.forecaster.stats.projectedOnRequest;
  const figures = (r: rating.ForecastRevenueResponse) => ({ amountToDate: r.amountToDate, amount: r.amount, booked: r.bookedAmount, billings: r.billingCount });
  /** The same call with no stored row: every open billing projected on request. */
  async function onDemand(req: Parameters<typeof svc.client.forecastRevenue>[0]) {
    await svc.running.deps.pool.query("DELETE FROM billing_projection");
    const before = onRequest();
    const r = await svc.client.forecastRevenue(req);
    return { r, projected: onRequest() - before };
  }

  beforeAll(async () => {
    env = await createTestEnvironment();
    clock = new ManualClock("2027-01-01T00:00:00Z");
    // No periodic sweep during the suite (it would race the day-boundary cases): sweeps at start, on touches and on refreshAll().
    svc = await startRating(env, clock, { projectionRefreshMs: 3_600_000 });
    await publishMeter(env, "tokens", AGG.SUM);
    await waitForMeters(svc, ["tokens"]);
    const price = (model: MessageInitShape<typeof rating.PriceSchema>["model"]) => [{ key: "tok", meterKey: "tokens", displayName: "Tokens", pricing: { case: "price" as const, value: { model } } }];
    await svc.client.createPlan({ plan: planInput("st_grad", price({ case: "graduated", value: { tiers: [{ upTo: "500", unitAmount: "0.1" }, { unitAmount: "0.05" }] } })) });
    await svc.client.createPlan({ plan: planInput("st_vol", price({ case: "volume", value: { tiers: [{ upTo: "3000", unitAmount: "0.10" }, { unitAmount: "0.05" }] } })) });
    await svc.client.createPlan({ plan: planInput("st_fee", price({ case: "perUnit", value: { unitAmount: "0.01" } }), { recurringFee: { amount: "50", timing: rating.FeeTiming.IN_ARREARS } }) });
    const plans: Record<string, string> = { s_grad: "st_grad", s_vol: "st_vol", s_fee: "st_fee", s_new: "st_fee", s_change: "st_grad", s_berlin: "st_vol" };
    for (const c of customers) {
      const start = c === "s_new" ? "2027-03-08T00:00:00Z" : c === "s_berlin" ? "2027-01-01T00:00:00+01:00" : "2027-01-01T00:00:00Z";
      await svc.client.createSubscription({ customerId: c, planKey: plans[c]!, startTime: at(start), ...(c === "s_berlin" && { timeZone: "Europe/Berlin" }) });
    }
    clock.set("2027-03-05T00:00:00Z");
    const events = [
      ...daily("s_grad", 40, "2027-01-01", "2027-03-05"),
      ...daily("s_vol", 90, "2027-01-01", "2027-03-05"),
      ...daily("s_fee", 300, "2027-01-01", "2027-03-05"),
      ...daily("s_change", 20, "2027-01-01", "2027-03-05"),
      ...daily("s_berlin", 120, "2027-01-01", "2027-03-05"),
    ];
    for (let i = 0; i < events.length; i += 100) await rateEvents(env, svc, events.slice(i, i + 100));
    await svc.client.changePlan({ subscriptionId: (await svc.client.listSubscriptions({ customerId: "s_change" })).subscriptions[0]!.id, planKey: "st_fee", timing: rating.ChangeTiming.IMMEDIATELY });
    clock.set("2027-03-10T12:00:00Z");
    await rateEvents(env, svc, [
      ...daily("s_grad", 40, "2027-03-05", "2027-03-10"),
      ...daily("s_vol", 90, "2027-03-05", "2027-03-10"),
      ...daily("s_change", 60, "2027-03-05", "2027-03-10"),
      tokens("s_new", "25", "2027-03-09T10:00:00Z"),
      tokens("s_new", "4", "2027-03-10T09:00:00Z"),
      tokens("s_fee", "77", "2027-03-10T08:00:00Z"),
    ]);
  }, 120_000);
  afterAll(async () => {
    await svc?.stop();
    await env?.close();
  });

  it("sums what the refresher stored, to the last digit of projecting every billing on request", async () => {
    await svc.internals.refresher.refreshAll();
    const before = onRequest();
    const stored = await svc.client.forecastRevenue({ currency: "USD" });
    expect(onRequest() - before).toBe(0);
    expect(stored.billingCount).toBe(customers.length);
    // April (UTC) bills the March periods, but Berlin's ends on Mar 31, 22:00 UTC: its April
    // period (to May 1, 00:00 Berlin) is billed instead, a future one no sweep stores. It is
    // projected on request and stored; asked again, read.
    const windowed = await svc.client.forecastRevenue(april);
    expect(onRequest() - before).toBe(1);
    expect(figures(await svc.client.forecastRevenue(april))).toEqual(figures(windowed));
    expect(onRequest() - before).toBe(1);

    const fresh = await onDemand({ currency: "USD" });
    expect(fresh.projected).toBe(customers.length);
    expect(figures(stored)).toEqual(figures(fresh.r));
    const freshWindow = await onDemand(april);
    expect(freshWindow.projected).toBe(customers.length);
    expect(figures(windowed)).toEqual(figures(freshWindow.r));
  });

  it("new usage is projected again in the background for that customer only, and the call then reads stored rows", async () => {
    await svc.internals.refresher.refreshAll();
    const before = await svc.client.forecastRevenue({ currency: "USD" });
    const projected = svc.internals.refresher.stats.projected;
    // Rated through the consumer, which touches the customer: nothing else on its path.
    await rateEvents(env, svc, [tokens("s_grad", "1000", "2027-03-10T11:00:00Z")]);
    // The consumer touches the customer right after its commit, the refresher half a second later.
    await waitUntil(async () => svc.internals.refresher.stats.projected > projected, "the touched billing re-projected");
    await svc.internals.refresher.idle();
    expect(svc.internals.refresher.stats.projected - projected).toBe(1);

    const calls = onRequest();
    const after = await svc.client.forecastRevenue({ currency: "USD" });
    expect(onRequest() - calls).toBe(0);
    // 1,000 more units on the graduated plan (0.10 up to 500, 0.05 after), crossing its tier.
    const added = new Decimal(after.amountToDate).minus(before.amountToDate);
    expect(added.gt(50) && added.lt(100)).toBe(true);
    expect(figures(after)).toEqual(figures((await onDemand({ currency: "USD" })).r));
  });

  it("a plan change notifies the refresher, which re-projects that customer's billing with no call", async () => {
    await svc.internals.refresher.refreshAll();
    const projected = svc.internals.refresher.stats.projected;
    const sub = (await svc.client.listSubscriptions({ customerId: "s_grad" })).subscriptions[0]!;
    // Scheduled for the period end: the current period's terms change (a pending segment), its usage does not.
    await svc.client.changePlan({ subscriptionId: sub.id, planKey: "st_fee", timing: rating.ChangeTiming.AT_PERIOD_END });
    await waitUntil(async () => svc.internals.refresher.stats.projected > projected, "the changed subscription's billing re-projected");
    await svc.internals.refresher.idle();
    expect(svc.internals.refresher.stats.projected - projected).toBe(1);
    const calls = onRequest();
    const r = await svc.client.forecastRevenue({ currency: "USD" });
    expect(onRequest() - calls).toBe(0);
    expect([r.billingsDated, r.billingsNotProjected]).toEqual([0, 0]);
  });

  it("after a day boundary a call sums the stored rows as they are and reports their as-of; changed inputs are projected on request", async () => {
    await svc.internals.refresher.refreshAll();
    const before = await svc.client.forecastRevenue({ currency: "USD" });
    expect([before.billingsDated, before.billingsNotProjected]).toEqual([0, 0]);
    const asOf = timestampDate(before.projectionsAsOf!);
    expect(asOf.getTime()).toBeLessThanOrEqual(clock.now().getTime());

    // Past midnight in UTC and in Berlin: every row's fresh_until has passed, no input changed.
    clock.set("2027-03-11T00:30:00Z");
    let calls = onRequest();
    const dated = await svc.client.forecastRevenue({ currency: "USD" });
    expect(onRequest() - calls).toBe(0);
    expect(figures(dated)).toEqual(figures(before));
    expect(dated.billingsDated).toBe(customers.length);
    expect(dated.billingsNotProjected).toBe(0);
    expect(timestampDate(dated.projectionsAsOf!)).toEqual(asOf);
    expect(timestampDate(dated.asOfTime!)).toEqual(new Date("2027-03-11T00:30:00Z"));

    // New usage for one customer: that billing alone is projected on request, the others still read as they are.
    await svc.running.deps.pool.query("UPDATE segment_usage SET quantity = quantity + 10 WHERE customer_id = 's_vol' AND period_start = '2027-03-01T00:00:00Z'");
    calls = onRequest();
    const changed = await svc.client.forecastRevenue({ currency: "USD" });
    expect(onRequest() - calls).toBe(1);
    expect(changed.billingsDated).toBe(customers.length - 1);
    expect(new Decimal(changed.amountToDate).gt(dated.amountToDate)).toBe(true);

    // Once the refresher has caught up, the call reads today's rows, equal to projecting every billing now.
    await svc.internals.refresher.refreshAll();
    calls = onRequest();
    const caughtUp = await svc.client.forecastRevenue({ currency: "USD" });
    expect(onRequest() - calls).toBe(0);
    expect(caughtUp.billingsDated).toBe(0);
    expect(timestampDate(caughtUp.projectionsAsOf!).getTime()).toBeGreaterThanOrEqual(Date.parse("2027-03-11T00:30:00Z"));
    expect(figures(caughtUp)).toEqual(figures((await onDemand({ currency: "USD" })).r));
  });

  it("over the inline bound a call projects that many, leaves the rest out and says how many; the refresher fills them in", async () => {
    await svc.running.deps.pool.query("DELETE FROM billing_projection");
    // A second forecaster on the same database, bounded to 2 billings a call (RATING_FORECAST_INLINE_MAX=2).
    const bounded = new Forecaster(svc.running.deps, new PlanCatalog(), new PricerCache(), new DimensionalPricerCache(), 2);
    const behind: string[] = [];
    bounded.behind.push((ids) => behind.push(...ids));

    const first = await bounded.revenue("USD");
    expect(bounded.stats.projectedOnRequest).toBe(2);
    expect([first.billings, first.billingsNotProjected, first.billingsDated]).toEqual([customers.length, customers.length - 2, 0]);
    expect(first.projectionsAsOf).toEqual(clock.now());
    expect(new Set(behind).size).toBe(customers.length - 2);
    // Each call projects up to the bound: the next two, the first two read back.
    const second = await bounded.revenue("USD");
    expect(bounded.stats.projectedOnRequest).toBe(4);
    expect(second.billingsNotProjected).toBe(customers.length - 4);
    expect(second.amount.p50.gt(first.amount.p50)).toBe(true);

    await svc.internals.refresher.refreshAll();
    const complete = await bounded.revenue("USD");
    expect(bounded.stats.projectedOnRequest).toBe(4);
    expect(complete.billingsNotProjected).toBe(0);
    const rpc = await svc.client.forecastRevenue({ currency: "USD" });
    expect(rpc.billingsNotProjected).toBe(0);
    expect(complete.amount.p50.eq(rpc.projectedAmount)).toBe(true);
    expect(figures(rpc)).toEqual(figures((await onDemand({ currency: "USD" })).r));
  });

  it("after a day boundary the sweep projects every billing again, so the next call reads stored rows", async () => {
    await svc.internals.refresher.refreshAll();
    clock.set("2027-03-12T01:00:00Z");
    const projected = svc.internals.refresher.stats.projected;
    await svc.internals.refresher.refreshAll();
    expect(svc.internals.refresher.stats.projected - projected).toBe(customers.length);
    const calls = onRequest();
    const stored = await svc.client.forecastRevenue({ currency: "USD" });
    expect(onRequest() - calls).toBe(0);
    expect(figures(stored)).toEqual(figures((await onDemand({ currency: "USD" })).r));
  });
});

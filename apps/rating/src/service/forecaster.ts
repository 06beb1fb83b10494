import type { TimeRange } from "@tally/forecasting";
import { InvalidArgumentError, type ServiceDeps } from "@tally/platform";
import { Decimal, isSupportedCurrency } from "@tally/pricing";
import type { PricerCache } from "@tally/plan-pricing";
import { liveSubscriptions, subscriptionsOfCustomers, subscriptionsOverlapping, type SubscriptionRow } from "../adapter/subscription-store";
import { segmentsOfPeriods } from "../adapter/usage-store";
import { DayGrids } from "../domain/daily-usage";
import { SubscriptionNotFoundError } from "../domain/errors";
import { forecastPeriod, type ForecastDraft, type Range } from "../domain/forecast";
import { segmentLines, subtotalOf, type DimensionalPricerCache, type SegmentInput } from "../domain/invoice-lines";
import { periodSegmentInputs } from "../domain/period-segments";
import type { Period } from "../domain/periods";
import { periodOf, segmentsIn, statusAt } from "../domain/subscription";
import type { AggregateState } from "../domain/usage-rating";
import { ForecastHistory, previousPeriods } from "./forecast-history";
import type { PlanCatalog } from "./plan-catalog";
import { RevenueMemo, type BillingProjection } from "./revenue-memo";

/** Simulated paths per component in ForecastRevenue: ten thousand subscriptions must answer in seconds (Forecast uses 1,000). */
export const REVENUE_SAMPLES = 100;

export interface CustomerForecast {
  sub: SubscriptionRow;
  period: Period;
  currency: string;
  now: Date;
  forecast: ForecastDraft;
}

/** What ForecastRevenue sums: booked invoices at actual amounts, open and future ones projected. */
export interface RevenueForecast {
  now: Date;
  window?: TimeRange;
  amountToDate: Decimal;
  booked: Decimal;
  amount: Range;
  subscriptions: number;
  billings: number;
}

/** Forecast and ForecastRevenue: usage history from the daily rollup, projected with @tally/forecasting. */
export class Forecaster {
  private readonly grids = new DayGrids();
  private readonly memo = new RevenueMemo();
  private readonly windowPeriods = new Map<string, Period[]>();

  constructor(
    private readonly deps: ServiceDeps,
    private readonly catalog: PlanCatalog,
    private readonly pricers: PricerCache,
    private readonly dimensional: DimensionalPricerCache,
  ) {}

  async forecast(customerId: string): Promise<CustomerForecast> {
    if (!customerId) throw new InvalidArgumentError({ field: "customer_id", message: "is required", code: "required" });
    const now = this.deps.clock.now();
    const sub = (await subscriptionsOfCustomers(this.deps.pool, [customerId])).find((s) => statusAt(s, now) === "active");
    if (!sub) throw new SubscriptionNotFoundError("active subscription of customer", customerId);
    const period = periodOf(sub, now);
    const earlier = previousPeriods(sub, period);
    const history = await ForecastHistory.load(this.deps.pool, this.grids, [sub.id], earlier[0]?.start ?? period.start);
    const segments = await this.segmentsOf(sub, period, await segmentsOfPeriods(this.deps.pool, [{ subscriptionId: sub.id, periodStart: period.start }]));
    await this.prefetchCohorts(history, sub, segments, now);
    const forecast = this.project(history, sub, period, earlier, segments, now);
    return { sub, period, currency: segments[segments.length - 1]!.plan.currency, now, forecast };
  }

  /**
   * Revenue in `currency`. With a window: every billing issued in it (a period's invoice at its
   * end, a canceled subscription's final at the cancel time), booked at actual amounts when over
   * by now, projected otherwise. Without: each live subscription's current period.
   * Four queries whatever the number of subscriptions (plus one per plan component for cohorts);
   * an open billing whose subscription and quantities have not changed this hour reuses its
   * projection ({@link RevenueMemo}).
   */
  async revenue(currency: string, window?: TimeRange): Promise<RevenueForecast> {
    if (!isSupportedCurrency(currency)) throw new InvalidArgumentError({ field: "currency", message: `must be a supported ISO 4217 code, got ${JSON.stringify(currency)}`, code: "invalid_value" });
    const now = this.deps.clock.now();
    const db = this.deps.pool;
    const candidates = window ? await subscriptionsOverlapping(db, window.start, window.end) : await liveSubscriptions(db, now);
    const subs: SubscriptionRow[] = [];
    for (const sub of candidates) {
      for (const seg of sub.segments) await this.catalog.get(db, seg.planKey, seg.planVersion);
      if (this.catalog.cached(sub.segments[0]!.planKey, sub.segments[0]!.planVersion)!.rate.currency === currency) subs.push(sub);
    }
    const billings = subs.flatMap((sub) => (window ? this.billedIn(sub, window) : [periodOf(sub, now)]).map((period) => ({ sub, period })));
    const rows = groupRows(await segmentsOfPeriods(db, billings.filter((b) => b.period.start < now).map((b) => ({ subscriptionId: b.sub.id, periodStart: b.period.start }))));
    let booked = new Decimal(0);
    for (const { sub, period } of billings.filter((b) => b.period.end <= now)) {
      const segments = await this.segmentsOf(sub, period, rows.get(rowsKey(sub.id, period.start)) ?? []);
      booked = booked.plus(subtotalOf(segments.flatMap((s) => segmentLines(s, this.pricers, this.dimensional))));
    }
    let amountToDate = booked;
    const amount = { p10: booked, p50: booked, p90: booked };
    const add = (f: BillingProjection) => {
      amountToDate = amountToDate.plus(f.amountToDate);
      amount.p10 = amount.p10.plus(f.amount.p10);
      amount.p50 = amount.p50.plus(f.amount.p50);
      amount.p90 = amount.p90.plus(f.amount.p90);
    };
    const misses = [];
    for (const b of billings.filter((x) => x.period.end > now)) {
      const segments = await this.segmentsOf(b.sub, b.period, rows.get(rowsKey(b.sub.id, b.period.start)) ?? []);
      const key = this.memo.keyOf(b.sub, b.period, segments, now);
      const hit = this.memo.get(key);
      if (hit) add(hit);
      else misses.push({ ...b, segments, key, earlier: previousPeriods(b.sub, b.period) });
    }
    if (misses.length > 0) {
      const historyFrom = misses.reduce((min, b) => Math.min(min, (b.earlier[0] ?? b.period).start.getTime()), Infinity);
      const history = await ForecastHistory.load(db, this.grids, [...new Set(misses.map((b) => b.sub.id))], new Date(historyFrom));
      for (const b of misses) await this.prefetchCohorts(history, b.sub, b.segments, now);
      for (const { sub, period, earlier, segments, key } of misses) {
        const f = this.project(history, sub, period, earlier, segments, now, REVENUE_SAMPLES);
        this.memo.set(key, { amountToDate: f.amountToDate, amount: f.amount });
        add(f);
      }
    }
    return { now, window, amountToDate, booked, amount, subscriptions: new Set(billings.map((b) => b.sub.id)).size, billings: billings.length };
  }

  /**
   * The periods of `sub` whose invoice is issued inside the window, [start, end): a period's at its
   * end, a canceled subscription's final at the cancel time (periodOf cuts the period there).
   * Kept per subscription revision and window: time-zone arithmetic is most of a repeated call.
   */
  private billedIn(sub: SubscriptionRow, window: TimeRange): Period[] {
    const id = `${sub.id}@${sub.revision}|${window.start.getTime()}|${window.end.getTime()}`;
    let periods = this.windowPeriods.get(id);
    if (!periods) {
      if (this.windowPeriods.size >= 200_000) this.windowPeriods.clear();
      this.windowPeriods.set(id, (periods = billedIn(sub, window)));
    }
    return periods;
  }

  private async segmentsOf(sub: SubscriptionRow, period: Period, rows: readonly AggregateState[]): Promise<SegmentInput[]> {
    for (const seg of segmentsIn(sub, period)) await this.catalog.get(this.deps.pool, seg.planKey, seg.planVersion);
    return periodSegmentInputs(sub, period, rows, (key, version) => this.catalog.cached(key, version)!.rate);
  }

  private async prefetchCohorts(history: ForecastHistory, sub: SubscriptionRow, segments: readonly SegmentInput[], now: Date): Promise<void> {
    const plan = segments[segments.length - 1]!.plan;
    for (const component of plan.components) {
      const values = component.pricing.kind === "single" ? [""] : [...new Set([...(segments[segments.length - 1]!.quantities.get(component.key)?.keys() ?? [])])];
      for (const value of values) await history.prefetchCohort(sub, plan.key, component, value, now);
    }
  }

  /** A period's forecast at `now`; a future period (starting after now) is projected from its start, on the days seen so far. */
  private project(history: ForecastHistory, sub: SubscriptionRow, period: Period, earlier: readonly Period[], segments: SegmentInput[], now: Date, samples?: number): ForecastDraft {
    const at = period.start > now ? period.start : now;
    const plan = segments[segments.length - 1]!.plan;
    return forecastPeriod(
      {
        subscriptionId: sub.id,
        period,
        segments,
        days: history.grid(sub, period),
        now: at,
        historyOf: (componentKey, value) => history.historyOf(sub, period, earlier, now, componentKey, value),
        valuesSeen: (componentKey) => history.valuesSeen(sub, period, componentKey),
        cohortOf: (component, value) => history.cohortOf(plan.key, component, value),
        levelShifts: sub.segments.slice(1).map((s) => s.start),
        samples,
      },
      this.pricers,
      this.dimensional,
    );
  }
}

function rowsKey(subscriptionId: string, periodStart: Date): string {
  return `${subscriptionId}\u0000${periodStart.getTime()}`;
}

function groupRows(rows: readonly AggregateState[]): Map<string, AggregateState[]> {
  const out = new Map<string, AggregateState[]>();
  for (const r of rows) {
    const id = rowsKey(r.key.subscriptionId, r.key.periodStart);
    out.set(id, [...(out.get(id) ?? []), r]);
  }
  return out;
}

/** The periods of `sub` billed inside the window (see {@link Forecaster.billedIn}). */
function billedIn(sub: SubscriptionRow, window: TimeRange): Period[] {
  const out: Period[] = [];
  // From the period containing the instant before the window: it may end exactly at its start.
  let p = periodOf(sub, new Date(Math.max(window.start.getTime() - 1, sub.startTime.getTime())));
  for (;;) {
    if (p.end >= window.start && p.end < window.end) out.push(p);
    if (p.end >= window.end || (sub.cancelTime && p.end >= sub.cancelTime)) return out;
    p = periodOf(sub, p.end);
  }
}

import type { TimeRange } from "@tally/forecasting";
import { InvalidArgumentError, type ServiceDeps } from "@tally/platform";
import { Decimal, isSupportedCurrency, toMaxScale } from "@tally/pricing";
import type { PricerCache } from "@tally/plan-pricing";
import { liveSubscriptions, subscriptionsOfCustomers, subscriptionsOverlapping, type SubscriptionRow } from "../adapter/subscription-store";
import { segmentsOfPeriods } from "../adapter/usage-store";
import { inputVersions, saveProjections, staleStoredBillings, sumStoredProjections, type StoredProjection } from "../adapter/projection-store";
import { DayGrids } from "../domain/daily-usage";
import { SubscriptionNotFoundError } from "../domain/errors";
import { forecastPeriod, type ForecastDraft, type Range } from "../domain/forecast";
import { segmentLines, subtotalOf, type DimensionalPricerCache, type SegmentInput } from "../domain/invoice-lines";
import { periodSegmentInputs } from "../domain/period-segments";
import type { Period } from "../domain/periods";
import { isLive, periodOf, segmentsIn, statusAt } from "../domain/subscription";
import type { AggregateState } from "../domain/usage-rating";
import { ForecastHistory, previousPeriods } from "./forecast-history";
import type { PlanCatalog } from "./plan-catalog";

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
  /** The oldest `as_of` of the projections summed (stored or made by this call); none when no open billing was summed. */
  projectionsAsOf: Date | undefined;
  /** Open billings summed from a stored projection made before the current day (their inputs unchanged since). */
  billingsDated: number;
  /** Open billings left out of the amounts: no projection from their current inputs, and over the inline bound. */
  billingsNotProjected: number;
}

/** One billing to project: a subscription's period whose invoice is not issued yet. */
export interface OpenBilling {
  sub: SubscriptionRow;
  period: Period;
}

/** Forecast and ForecastRevenue: usage history from the daily rollup, projected with @tally/forecasting. */
export class Forecaster {
  /** Billings projected so far by this instance (request path and refresher), and left out of a call's amounts. */
  readonly stats = { projected: 0, projectedOnRequest: 0, notProjected: 0 };
  /**
   * Called with the customers of billings a call left out (over the inline bound), so that the
   * refresher projects them soon rather than at its next sweep.
   */
  readonly behind: Array<(customerIds: string[]) => void> = [];
  private readonly grids = new DayGrids();
  private readonly windowPeriods = new Map<string, Period[]>();
  private readonly currentPeriods = new Map<string, Period>();

  constructor(
    private readonly deps: ServiceDeps,
    private readonly catalog: PlanCatalog,
    private readonly pricers: PricerCache,
    private readonly dimensional: DimensionalPricerCache,
    /** RATING_FORECAST_INLINE_MAX: most billings one ForecastRevenue call projects itself. */
    private readonly inlineMax = Number.POSITIVE_INFINITY,
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
    await this.prefetchCohorts(history, segments, now);
    const forecast = this.project(history, sub, period, earlier, segments, now);
    return { sub, period, currency: segments[segments.length - 1]!.plan.currency, now, forecast };
  }

  /**
   * Revenue in `currency`. With a window: every billing issued in it (a period's invoice at its
   * end, a canceled subscription's final at the cancel time), booked at actual amounts when over
   * by now, projected otherwise. Without: each live subscription's current period.
   * Open billings are summed from their stored projections (billing_projection, kept up to date
   * off the request path by {@link ProjectionRefresher}) in one query. The request path is bounded:
   * - a row made from the billing's current inputs is summed even when a day boundary has passed
   *   since (only time moved on): it is the projection as of its `as_of`, reported as
   *   `projectionsAsOf` and counted in `billingsDated`, and the refresher replaces it;
   * - a billing whose inputs changed (usage, plan change, cancel) or that has no row is projected
   *   here, in bulk, and stored — up to `inlineMax` of them per call. The rest are left out of the
   *   amounts and counted in `billingsNotProjected` (their customers are handed to `behind`): an
   *   answer that says what it lacks rather than a call that takes minutes after a deployment.
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
    const billings: OpenBilling[] = subs.flatMap((sub) => (window ? this.billedIn(sub, window) : [this.currentPeriod(sub, now)]).map((period) => ({ sub, period })));
    const closed = billings.filter((b) => b.period.end <= now);
    const rows = groupRows(await segmentsOfPeriods(db, closed.map((b) => ({ subscriptionId: b.sub.id, periodStart: b.period.start }))));
    let booked = new Decimal(0);
    for (const { sub, period } of closed) {
      const segments = await this.segmentsOf(sub, period, rows.get(rowsKey(sub.id, period.start)) ?? []);
      booked = booked.plus(subtotalOf(segments.flatMap((s) => segmentLines(s, this.pricers, this.dimensional))));
    }
    const open = billings.filter((b) => b.period.end > now);
    const stored = await sumStoredProjections(db, open.map((b) => ({ subscriptionId: b.sub.id, periodStart: b.period.start })), now);
    let amountToDate = booked.plus(stored.amountToDate);
    const amount = { p10: booked.plus(stored.amount.p10), p50: booked.plus(stored.amount.p50), p90: booked.plus(stored.amount.p90) };
    const byKey = new Map(open.map((b) => [rowsKey(b.sub.id, b.period.start), b]));
    const changed = stored.changed.map((s) => byKey.get(rowsKey(s.subscriptionId, s.periodStart))!);
    const inline = changed.slice(0, Math.min(changed.length, this.inlineMax));
    const left = changed.slice(inline.length);
    const projected = await this.projectAndStore(inline, now);
    this.stats.projectedOnRequest += projected.length;
    for (const f of projected) {
      amountToDate = amountToDate.plus(f.amountToDate);
      amount.p10 = amount.p10.plus(f.amount.p10);
      amount.p50 = amount.p50.plus(f.amount.p50);
      amount.p90 = amount.p90.plus(f.amount.p90);
    }
    if (left.length > 0) {
      this.stats.notProjected += left.length;
      const customers = [...new Set(left.map((b) => b.sub.customerId))];
      for (const f of this.behind) f(customers);
    }
    return {
      now,
      window,
      amountToDate,
      booked,
      amount,
      subscriptions: new Set(billings.map((b) => b.sub.id)).size,
      billings: billings.length,
      projectionsAsOf: stored.oldestAsOf ?? (projected.length > 0 ? now : undefined),
      billingsDated: stored.dated,
      billingsNotProjected: left.length,
    };
  }

  /**
   * Projects the stale billings among the open ones of live subscriptions (of `customerIds`, or
   * all) and those already stored (periods a window asked for), storing them; returns how many.
   * The refresher's work, in chunks of {@link REFRESH_CHUNK}, yielding to requests in between.
   */
  async refreshStale(customerIds?: readonly string[]): Promise<number> {
    const now = this.deps.clock.now();
    const db = this.deps.pool;
    const subs = customerIds ? (await subscriptionsOfCustomers(db, [...customerIds])).filter((s) => isLive(s, now)) : await liveSubscriptions(db, now);
    const byId = new Map(subs.map((s) => [s.id, s]));
    const open = subs.filter((s) => statusAt(s, now) === "active").map((sub) => ({ subscriptionId: sub.id, periodStart: this.currentPeriod(sub, now).start }));
    const stale = new Map((await sumStoredProjections(db, open, now)).stale.map((b) => [rowsKey(b.subscriptionId, b.periodStart), b]));
    for (const b of await staleStoredBillings(db, now, customerIds)) stale.set(rowsKey(b.subscriptionId, b.periodStart), b);
    const work: OpenBilling[] = [];
    for (const b of stale.values()) {
      const sub = byId.get(b.subscriptionId);
      if (sub) work.push({ sub, period: periodOf(sub, b.periodStart) });
    }
    for (let i = 0; i < work.length; i += REFRESH_CHUNK) await this.projectAndStore(work.slice(i, i + REFRESH_CHUNK), this.deps.clock.now(), true);
    return work.length;
  }

  /**
   * Projects billings in bulk (their inputs' versions, segment rows and daily history in one
   * query each) at `now`, and stores them. Amounts at the storage scale, on every path, so a sum
   * of stored rows and a sum of fresh projections agree to the last digit.
   */
  private async projectAndStore(billings: readonly OpenBilling[], now: Date, background = false): Promise<StoredProjection[]> {
    if (billings.length === 0) return [];
    const db = this.deps.pool;
    const refs = billings.map((b) => ({ subscriptionId: b.sub.id, periodStart: b.period.start }));
    // Versions first: rows read after them are at least as new, so a stored version never claims more than was seen.
    const versions = await inputVersions(db, refs);
    const rows = groupRows(await segmentsOfPeriods(db, refs.filter((r) => r.periodStart < now)));
    const items = [];
    for (const b of billings) items.push({ ...b, segments: await this.segmentsOf(b.sub, b.period, rows.get(rowsKey(b.sub.id, b.period.start)) ?? []), earlier: previousPeriods(b.sub, b.period) });
    const historyFrom = items.reduce((min, b) => Math.min(min, (b.earlier[0] ?? b.period).start.getTime()), Infinity);
    const history = await ForecastHistory.load(db, this.grids, [...new Set(items.map((b) => b.sub.id))], new Date(historyFrom));
    for (const b of items) await this.prefetchCohorts(history, b.segments, now);
    const out: StoredProjection[] = [];
    for (const [i, { sub, period, earlier, segments }] of items.entries()) {
      if (background && i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise((resolve) => setImmediate(resolve));
      const f = this.project(history, sub, period, earlier, segments, now, REVENUE_SAMPLES);
      out.push({
        subscriptionId: sub.id,
        periodStart: period.start,
        periodEnd: period.end,
        inputs: versions.get(rowsKey(sub.id, period.start)) ?? "",
        asOf: now,
        freshUntil: this.dayEnd(sub, now),
        amountToDate: toMaxScale(f.amountToDate),
        amount: { p10: toMaxScale(f.amount.p10), p50: toMaxScale(f.amount.p50), p90: toMaxScale(f.amount.p90) },
      });
    }
    await saveProjections(db, out);
    this.stats.projected += out.length;
    return out;
  }

  /** The end of the day `now` is in, in the grid of the subscription's current period (an hour on, outside one). */
  private dayEnd(sub: SubscriptionRow, now: Date): Date {
    const t = now.getTime();
    const day = this.grids.grid(sub.timeZone, this.currentPeriod(sub, now)).find((d) => d.start.getTime() <= t && t < d.end.getTime());
    return day ? day.end : new Date(t + 3_600_000);
  }

  /** periodOf(sub, now), kept per subscription revision while it contains now: the time-zone arithmetic is most of a sweep. */
  private currentPeriod(sub: SubscriptionRow, now: Date): Period {
    const id = `${sub.id}@${sub.revision}`;
    const cached = this.currentPeriods.get(id);
    if (cached && cached.start <= now && now < cached.end) return cached;
    if (this.currentPeriods.size >= 200_000) this.currentPeriods.clear();
    const period = periodOf(sub, now);
    this.currentPeriods.set(id, period);
    return period;
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

  private async prefetchCohorts(history: ForecastHistory, segments: readonly SegmentInput[], now: Date): Promise<void> {
    const plan = segments[segments.length - 1]!.plan;
    for (const component of plan.components) {
      const values = component.pricing.kind === "single" ? [""] : [...new Set([...(segments[segments.length - 1]!.quantities.get(component.key)?.keys() ?? [])])];
      for (const value of values) await history.prefetchCohort(plan.key, component, value, now);
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
        cohortOf: (component, value) => history.cohortOf(sub, plan.key, component, value),
        levelShifts: sub.segments.slice(1).map((s) => s.start),
        samples,
      },
      this.pricers,
      this.dimensional,
    );
  }
}

/** Billings projected per chunk by the refresher: one history query each. */
const REFRESH_CHUNK = 1000;
/** The refresher lets requests in after this many projections (a few tens of milliseconds). */
const YIELD_EVERY = 5;

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


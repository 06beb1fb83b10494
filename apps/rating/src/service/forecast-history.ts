import type { CohortPrior, PastPeriod, PeriodDay } from "@tally/forecasting";
import type { Decimal } from "@tally/pricing";
import type { Db } from "../adapter/db";
import { cohortDailyRates, dailyUsageSince } from "../adapter/daily-usage-store";
import type { DayGrids } from "../domain/daily-usage";
import type { ComponentHistory } from "../domain/forecast";
import type { Period } from "../domain/periods";
import type { RateComponent } from "../domain/rate-plan";
import { periodOf, type SubscriptionFacts } from "../domain/subscription";

/** Earlier periods a forecast learns from (three months for monthly plans: enough for trend and weekday shape). */
export const HISTORY_PERIODS = 3;
/** The cohort's rates are measured over this many days before the forecast. */
const COHORT_DAYS = 28;
/** Subscriptions a cohort prior is measured on. */
const COHORT_SAMPLE = 500;

/** The periods before `period`, oldest first, at most `n`, none before the subscription started. */
export function previousPeriods(sub: SubscriptionFacts, period: Period, n = HISTORY_PERIODS): Period[] {
  const out: Period[] = [];
  let p = period;
  while (out.length < n && p.start.getTime() > sub.startTime.getTime()) {
    p = periodOf(sub, new Date(p.start.getTime() - 1));
    out.unshift(p);
  }
  return out;
}

/**
 * Daily usage of many subscriptions, loaded in one query and indexed by subscription, component
 * and dimension value; day grids and cohorts computed once per call.
 */
export class ForecastHistory {
  private readonly series = new Map<string, Map<string, Map<number, number>>>();
  private readonly cohorts = new Map<string, { subscriptionId: string; rate: Decimal }[]>();

  private constructor(
    private readonly db: Db,
    private readonly grids: DayGrids,
  ) {}

  /** `grids` outlives the call: periods repeat from one call to the next. */
  static async load(db: Db, grids: DayGrids, subscriptionIds: readonly string[], from: Date): Promise<ForecastHistory> {
    const h = new ForecastHistory(db, grids);
    for (const s of await dailyUsageSince(db, subscriptionIds, from)) {
      let bySub = h.series.get(s.subscriptionId);
      if (!bySub) h.series.set(s.subscriptionId, (bySub = new Map()));
      bySub.set(seriesKey(s.componentKey, s.dimensionValue), new Map(s.days.map((d, i) => [d, s.quantities[i]!])));
    }
    return h;
  }

  grid(sub: SubscriptionFacts, period: Period): PeriodDay[] {
    return this.grids.grid(sub.timeZone, period);
  }

  /** Dimension values with daily usage in `period` for this component. */
  valuesSeen(sub: SubscriptionFacts, period: Period, componentKey: string): string[] {
    const out: string[] = [];
    for (const [key, days] of this.series.get(sub.id) ?? []) {
      const [component, value] = key.split("\u0000") as [string, string];
      if (component !== componentKey) continue;
      if ([...days.keys()].some((t) => t >= period.start.getTime() && t < period.end.getTime())) out.push(value);
    }
    return out;
  }

  /**
   * The component's usage per day of `period` started before `now`, and its earlier periods'
   * days (only those over by `now`: a forecast of a future period learns from the days seen).
   */
  historyOf(sub: SubscriptionFacts, period: Period, earlier: readonly Period[], now: Date, componentKey: string, dimensionValue: string): ComponentHistory {
    const days = this.series.get(sub.id)?.get(seriesKey(componentKey, dimensionValue));
    const at = (d: PeriodDay) => days?.get(d.start.getTime()) ?? 0;
    const history: PastPeriod[] = [];
    for (const p of earlier) {
      const over = this.grid(sub, p).filter((d) => d.end.getTime() <= now.getTime());
      if (over.length > 0) history.push({ days: over, usage: over.map(at) });
    }
    const usage = this.grid(sub, period).filter((d) => d.start.getTime() < now.getTime()).map(at);
    return { usage, history };
  }

  /** Loads (once per call and plan component) the cohorts `cohortOf` will be asked for. */
  async prefetchCohort(planKey: string, component: RateComponent, dimensionValue: string, now: Date): Promise<void> {
    const id = `${planKey}\u0000${seriesKey(component.key, dimensionValue)}`;
    if (this.cohorts.has(id)) return;
    const from = new Date(now.getTime() - COHORT_DAYS * 86_400_000);
    this.cohorts.set(id, await cohortDailyRates(this.db, { planKey, componentKey: component.key, dimensionValue, from, to: now }, COHORT_SAMPLE));
  }

  /** The cohort of the plan component, `sub` itself left out (a customer is not its own prior). */
  cohortOf(sub: SubscriptionFacts, planKey: string, component: RateComponent, dimensionValue: string): CohortPrior | undefined {
    const rates = (this.cohorts.get(`${planKey}\u0000${seriesKey(component.key, dimensionValue)}`) ?? [])
      .filter((r) => r.subscriptionId !== sub.id)
      .slice(0, COHORT_SAMPLE)
      .map((r) => r.rate);
    return rates.length > 0 ? { dailyRates: rates } : undefined;
  }
}

function seriesKey(componentKey: string, dimensionValue: string): string {
  return `${componentKey}\u0000${dimensionValue}`;
}

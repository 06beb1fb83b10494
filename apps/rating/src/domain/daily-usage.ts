import { dayGrid, type PeriodDay } from "@tally/forecasting";
import { Decimal } from "@tally/pricing";
import type { Period } from "./periods";
import type { Aggregation } from "./rate-plan";

/**
 * The per-day usage rollup forecasts read: one row per (subscription, component, dimension value,
 * day of the period's grid). Only additive aggregations are kept — a day's COUNT or SUM adds to
 * the period's quantity; a day's MAX, UNIQUE_COUNT or LATEST does not.
 */
export interface DailyUsage {
  subscriptionId: string;
  componentKey: string;
  dimensionValue: string;
  dayStart: Date;
  quantity: Decimal;
}

export function isAdditive(aggregation: Aggregation): boolean {
  return aggregation === "count" || aggregation === "sum";
}

/** What one applied reading adds to a component's period quantity. */
export interface AppliedReading {
  subscriptionId: string;
  componentKey: string;
  dimensionValue: string;
  aggregation: Aggregation;
  value: Decimal | null;
  time: Date;
  period: Period;
  timeZone: string;
}

/**
 * Day grids of periods, computed once per (time zone, period): placing an event in its day is
 * then a binary search. Bounded: cleared when it grows past many periods (as rating's period cache).
 */
export class DayGrids {
  private readonly grids = new Map<string, PeriodDay[]>();

  grid(timeZone: string, period: Period): PeriodDay[] {
    const id = `${timeZone}|${period.start.getTime()}|${period.end.getTime()}`;
    let days = this.grids.get(id);
    if (!days) {
      if (this.grids.size > 10_000) this.grids.clear();
      this.grids.set(id, (days = dayGrid(period.start, period.end, timeZone)));
    }
    return days;
  }

  /** Start of the grid day containing `t` (`t` inside `period`). */
  dayStart(timeZone: string, period: Period, t: Date): Date {
    const days = this.grid(timeZone, period);
    let lo = 0;
    let hi = days.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (days[mid]!.start.getTime() <= t.getTime()) lo = mid;
      else hi = mid - 1;
    }
    return days[lo]!.start;
  }
}

/** The daily increments of a batch of applied readings, summed per row (non-additive readings skipped). */
export function dailyIncrements(readings: Iterable<AppliedReading>, grids: DayGrids): DailyUsage[] {
  const byRow = new Map<string, DailyUsage>();
  for (const r of readings) {
    if (!isAdditive(r.aggregation) || r.value === null) continue;
    const dayStart = grids.dayStart(r.timeZone, r.period, r.time);
    const id = `${r.subscriptionId}\u0000${r.componentKey}\u0000${r.dimensionValue}\u0000${dayStart.getTime()}`;
    const row = byRow.get(id);
    if (row) row.quantity = row.quantity.plus(r.value);
    else byRow.set(id, { subscriptionId: r.subscriptionId, componentKey: r.componentKey, dimensionValue: r.dimensionValue, dayStart, quantity: new Decimal(r.value) });
  }
  return [...byRow.values()];
}

import { addDailyUsage } from "../adapter/daily-usage-store";
import { dailyIncrements, DayGrids } from "../domain/daily-usage";
import type { SubscriptionFacts } from "../domain/subscription";
import type { Placement } from "../domain/usage-rating";

/** Keeps the daily usage rollup (forecast history) as the rater applies a batch, in its transaction. */
export class DailyUsageRecorder {
  private readonly grids = new DayGrids();

  async record(db: Parameters<typeof addDailyUsage>[0], placements: readonly Placement[], subs: readonly SubscriptionFacts[]): Promise<void> {
    const timeZones = new Map(subs.map((s) => [s.id, s.timeZone]));
    const readings = placements.map((p) => ({
      subscriptionId: p.key.subscriptionId,
      componentKey: p.key.componentKey,
      dimensionValue: p.key.dimensionValue,
      aggregation: p.reading.aggregation,
      value: p.value,
      time: p.event.time,
      period: p.period,
      timeZone: timeZones.get(p.key.subscriptionId)!,
    }));
    await addDailyUsage(db, dailyIncrements(readings, this.grids));
  }
}

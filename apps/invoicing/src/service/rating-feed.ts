import { fromBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { rating } from "@tally/contracts";
import { withTransaction, type Pool, type ReceivedEvent } from "@tally/platform";
import { setTimeZone } from "../adapter/customer-store";
import { markStale } from "../adapter/invoice-store";
import { upsertSubscription } from "../adapter/subscription-store";

/**
 * What invoicing learns from rating's events. subscription.changed (full snapshots, highest
 * revision wins): which subscriptions to bill, their plan segments, and the customer's time zone
 * (rating owns it; the profile shows it). usage.rated: which periods' amounts moved, so a draft
 * built earlier is rebuilt before it is finalized. Both are idempotent: redelivery changes nothing.
 */
export class RatingFeed {
  constructor(private readonly pool: Pool) {}

  async subscriptionsChanged(msgs: ReceivedEvent[]): Promise<void> {
    await withTransaction(this.pool, async (tx) => {
      for (const m of msgs) {
        const s = fromBinary(rating.SubscriptionChangedSchema, m.data).subscription;
        if (!s?.startTime) continue;
        await upsertSubscription(tx, {
          subscriptionId: s.id,
          customerId: s.customerId,
          timeZone: s.timeZone,
          startTime: timestampDate(s.startTime),
          cancelTime: s.cancelTime ? timestampDate(s.cancelTime) : null,
          revision: Number(s.revision),
          segments: s.segments.map((g) => ({ planKey: g.planKey, planVersion: g.planVersion, start: timestampDate(g.range!.start!) })),
        });
        await setTimeZone(tx, s.customerId, s.timeZone);
      }
    });
  }

  async usageRated(msgs: ReceivedEvent[]): Promise<void> {
    const periods = new Map<string, { subscriptionId: string; periodStart: Date }>();
    for (const m of msgs) {
      for (const a of fromBinary(rating.UsageRatedSchema, m.data).amounts) {
        if (!a.period?.start) continue;
        const periodStart = timestampDate(a.period.start);
        periods.set(`${a.subscriptionId}/${periodStart.getTime()}`, { subscriptionId: a.subscriptionId, periodStart });
      }
    }
    await withTransaction(this.pool, (tx) => markStale(tx, [...periods.values()]));
  }
}

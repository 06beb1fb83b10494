import { enqueue, withTransaction, type MetricCounter, type ReceivedEvent, type OutboxMessage, type PoolClient, type ServiceDeps } from "@tally/platform";
import { tierCrossed, usageRated } from "../adapter/outbox-events";
import { subscriptionsOfCustomers, type SubscriptionRow } from "../adapter/subscription-store";
import {
  advanceHeads,
  claimEvents,
  insertUniqueValues,
  insertUnrated,
  loadSegments,
  lockHeads,
  saveSegments,
  takeUnratedWithoutSubscription,
  type HeadRef,
  type UnratedRow,
} from "../adapter/usage-store";
import type { PricerCache } from "@tally/plan-pricing";
import { usageEventsOf } from "../adapter/usage-recorded";
import { applyPlacements, placeUsage, type CachedPeriod, type UsageEvent } from "../domain/usage-rating";
import { DailyUsageRecorder } from "./daily-usage-recorder";
import type { PlanCatalog } from "./plan-catalog";

export interface RatingStats {
  batches: number;
  eventsApplied: number;
  duplicates: number;
  retries: number;
}

/**
 * Consumes tally.metering.v1.usage.recorded and rates it in real time.
 *
 * One JetStream batch (many UsageRecorded messages) = one transaction that claims the event ids,
 * applies only the newly claimed ones to the locked running aggregates, keeps the unrated
 * readings, and enqueues ONE UsageRated plus a TierCrossed per crossing in the outbox. Resolving
 * acks the batch; a crash before the commit leaves nothing behind and the batch is redelivered;
 * a crash after it makes the redelivery a no-op (the ids are claimed).
 */
export class UsageRater {
  readonly stats: RatingStats = { batches: 0, eventsApplied: 0, duplicates: 0, retries: 0 };
  /** Observers told, after each commit, which events the batch carried (benches and tests). */
  readonly committed: ((events: readonly UsageEvent[]) => void)[] = [];
  private readonly periodCache = new Map<string, CachedPeriod[]>();
  private readonly dailyUsage = new DailyUsageRecorder();
  private readonly eventsRated: MetricCounter;
  private readonly tierCrossings: MetricCounter;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly catalog: PlanCatalog,
    private readonly pricers: PricerCache,
    private readonly lateGraceMs: number,
  ) {
    this.eventsRated = deps.metrics.counter("rating_events_rated_total", "Usage events applied once each (priced, or kept unrated); redeliveries and duplicates not counted.");
    this.tierCrossings = deps.metrics.counter("rating_tier_crossings_total", "Tier boundaries crossed (one TierCrossed published each).");
  }

  /** The consumer's handler. */
  async handle(messages: ReceivedEvent[]): Promise<void> {
    const events: UsageEvent[] = [];
    const seen = new Set<string>();
    for (const m of messages) {
      // A message that cannot be decoded throws: the consumer redelivers it a few times, then
      // dead-letters it whole (never dropped, never redelivered forever).
      for (const e of usageEventsOf(m.data)) {
        if (seen.has(e.id)) {
          this.stats.duplicates++;
          continue;
        }
        seen.add(e.id);
        events.push(e);
      }
    }
    await this.rate(events, { claim: true });
  }

  /** Rates readings that were kept for lack of a subscription, now that one covers them. */
  async rerateUnrated(sub: SubscriptionRow): Promise<void> {
    const rated = await this.retrying(async (db) => {
      const rows = await takeUnratedWithoutSubscription(db, sub.customerId, sub.startTime);
      return this.rateInTransaction(db, unratedToEvents(rows), false);
    });
    this.count(rated);
  }

  async rate(events: UsageEvent[], opts: { claim: boolean }): Promise<void> {
    if (events.length === 0) return;
    this.count(await this.retrying((db) => this.rateInTransaction(db, events, opts.claim)));
    this.stats.batches++;
    for (const observe of this.committed) observe(events);
  }

  /** One transaction, run again on a deadlock or serialization failure (batches lock rows in key order, but rerating does not). */
  private retrying<T>(work: (db: PoolClient) => Promise<T>): Promise<T> {
    return withTransaction(this.deps.pool, work, {
      onRetry: ({ attempt, code }) => {
        this.stats.retries++;
        this.deps.logger.warn("rating batch conflicted; retrying", { code, attempt });
      },
    });
  }

  /** Counted once committed: a retried transaction's first attempts rated nothing. */
  private count({ rated, crossings }: BatchCounts): void {
    this.eventsRated.inc(rated);
    this.tierCrossings.inc(crossings);
  }

  private async rateInTransaction(db: PoolClient, all: UsageEvent[], claim: boolean): Promise<BatchCounts> {
    let events = all;
    if (claim) {
      const fresh = await claimEvents(db, all.map((e) => e.id));
      events = all.filter((e) => fresh.has(e.id));
      this.stats.duplicates += all.length - events.length;
    }
    if (events.length === 0) return NOTHING_RATED;
    const now = this.deps.clock.now();

    const subs = await subscriptionsOfCustomers(db, [...new Set(events.map((e) => e.customerId))]);
    const byCustomer = new Map<string, SubscriptionRow[]>();
    for (const s of subs) byCustomer.set(s.customerId, [...(byCustomer.get(s.customerId) ?? []), s]);
    for (const s of subs) for (const seg of s.segments) await this.catalog.get(db, seg.planKey, seg.planVersion);

    const { placements, unrated } = placeUsage(events, {
      periodCache: this.periodCache,
      now,
      lateGraceMs: this.lateGraceMs,
      subscriptionsOf: (c) => byCustomer.get(c) ?? [],
      plan: (key, version) => this.catalog.cached(key, version)!.rate,
    });

    const heads = new Map<string, HeadRef>();
    for (const p of placements) heads.set(p.headId, p.key);
    const sortedHeads = [...heads.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, h]) => h);
    await lockHeads(db, sortedHeads);
    const states = await loadSegments(db, sortedHeads);
    const uniquePairs = placements.filter((p) => p.reading.aggregation === "unique_count").map((p) => ({ key: p.key, value: p.reading.value }));
    const newUniques = await insertUniqueValues(db, uniquePairs);

    const result = applyPlacements(placements, states, newUniques, this.pricers);
    await saveSegments(db, result.changed);
    await this.dailyUsage.record(db, placements, subs);
    const sequences = await advanceHeads(db, result.running.map((r) => ({ ...r.key, amount: r.amount })));
    await insertUnrated(db, unrated.map((u) => ({
      eventId: u.event.id,
      meterKey: u.reading.meterKey,
      customerId: u.event.customerId,
      eventType: u.event.eventType,
      eventTime: u.event.time,
      aggregation: u.reading.aggregation,
      value: u.reading.value,
      group: { ...u.reading.group },
      reason: u.reason,
      detail: u.detail,
      receiveTime: now,
    })));

    const outbox: OutboxMessage[] = [];
    if (result.running.length > 0) {
      outbox.push(...usageRated(result.running, sequences, now));
    }
    for (const c of result.crossings) outbox.push(tierCrossed(c, now));
    await enqueue(db, outbox);
    this.stats.eventsApplied += events.length;
    return { rated: events.length, crossings: result.crossings.length };
  }
}

interface BatchCounts {
  rated: number;
  crossings: number;
}
const NOTHING_RATED: BatchCounts = { rated: 0, crossings: 0 };

function unratedToEvents(rows: UnratedRow[]): UsageEvent[] {
  const byId = new Map<string, UsageEvent>();
  for (const r of rows) {
    let e = byId.get(r.eventId);
    if (!e) byId.set(r.eventId, (e = { id: r.eventId, customerId: r.customerId, eventType: r.eventType, time: r.eventTime, readings: [] }));
    e.readings.push({ meterKey: r.meterKey, aggregation: r.aggregation, value: r.value, group: r.group });
  }
  return [...byId.values()];
}

import { Decimal, DecimalFormatError, parseDecimal } from "@tally/pricing";
import { billable, shareOf, type PricerCache } from "@tally/plan-pricing";
import type { Period } from "./periods";
import type { ComponentPrice } from "@tally/plan-pricing";
import { priceForValue, dimensionOf, type Aggregation, type RateComponent, type RatePlan } from "./rate-plan";
import { covers, nominalPeriodOf, periodOf, segmentsIn, type Segment, type SubscriptionFacts } from "./subscription";

/**
 * Real-time rating of a batch of usage against the running state. Pure: the service loads the
 * state (locked), calls {@link placeUsage} then {@link applyPlacements}, and writes the result back
 * in the same transaction.
 */

export interface Reading {
  meterKey: string;
  aggregation: Aggregation;
  /** Decimal string; any string for UNIQUE_COUNT. */
  value: string;
  group: Readonly<Record<string, string>>;
}

export interface UsageEvent {
  id: string;
  customerId: string;
  eventType: string;
  time: Date;
  readings: Reading[];
}

export type UnratedReason = "no_subscription" | "period_closed" | "no_component" | "no_price" | "invalid_value";

export interface UnratedReading {
  event: UsageEvent;
  reading: Reading;
  reason: UnratedReason;
  detail: string;
}

/**
 * Identifies one running aggregate: a component (and dimension value) of a subscription in one
 * plan segment of one billing period. The "head" (without the segment) is what locks and
 * sequences: one per (subscription, component, dimension, period).
 */
export interface AggregateKey {
  subscriptionId: string;
  componentKey: string;
  dimensionValue: string;
  periodStart: Date;
  segmentStart: Date;
}

export function headKey(k: Omit<AggregateKey, "segmentStart">): string {
  return `${k.subscriptionId}\u0000${k.componentKey}\u0000${k.dimensionValue}\u0000${k.periodStart.toISOString()}`;
}

export function aggregateKey(k: AggregateKey): string {
  return `${headKey(k)}\u0000${k.segmentStart.toISOString()}`;
}

/** One reading routed to one component of one segment. */
export interface Placement {
  key: AggregateKey;
  event: UsageEvent;
  reading: Reading;
  /** Parsed value; null for UNIQUE_COUNT (the raw string is the value). */
  value: Decimal | null;
  customerId: string;
  plan: RatePlan;
  component: RateComponent;
  price: ComponentPrice;
  period: Period;
  segment: Segment;
  /** The segment's share of the period (prorates the maximum). */
  share: Decimal;
  /** aggregateKey(key) and headKey(key), computed once. */
  aggregateId: string;
  headId: string;
}

export interface PlacementContext {
  /**
   * Periods, segments and aggregate keys computed for earlier batches, reused while the
   * subscription's revision is unchanged (time-zone math is the costliest part of placing).
   */
  periodCache?: Map<string, CachedPeriod[]>;
  now: Date;
  /** A period is closed (late usage no longer rated) once now >= period end + this. */
  lateGraceMs: number;
  subscriptionsOf(customerId: string): readonly SubscriptionFacts[];
  plan(key: string, version: number): RatePlan;
}

/**
 * Routes every reading of every event: to the subscription covering the event time, the period
 * and plan segment containing it, and each component pricing the reading's meter — or to the
 * unrated list with the reason. Never drops a reading.
 */
export function placeUsage(events: readonly UsageEvent[], ctx: PlacementContext): { placements: Placement[]; unrated: UnratedReading[] } {
  const placements: Placement[] = [];
  const unrated: UnratedReading[] = [];
  const periodCache = ctx.periodCache ?? new Map<string, CachedPeriod[]>();
  const componentsByMeter = new Map<RatePlan, Map<string, RateComponent[]>>();
  for (const event of events) {
    if (event.readings.length === 0) continue;
    const sub = ctx.subscriptionsOf(event.customerId).find((s) => covers(s, event.time));
    if (!sub) {
      for (const reading of event.readings) {
        unrated.push({ event, reading, reason: "no_subscription", detail: `customer ${JSON.stringify(event.customerId)} has no subscription at ${event.time.toISOString()}` });
      }
      continue;
    }
    const cached = cachedPeriod(periodCache, sub, event.time);
    const period = cached.period;
    if (ctx.now.getTime() >= period.end.getTime() + ctx.lateGraceMs) {
      for (const reading of event.readings) {
        unrated.push({
          event,
          reading,
          reason: "period_closed",
          detail: `period [${period.start.toISOString()}, ${period.end.toISOString()}) closed at ${new Date(period.end.getTime() + ctx.lateGraceMs).toISOString()}`,
        });
      }
      continue;
    }
    const segment = cached.segments.find((s) => event.time.getTime() >= s.start.getTime() && event.time.getTime() < s.end.getTime())!;
    const plan = ctx.plan(segment.planKey, segment.planVersion);
    let byMeter = componentsByMeter.get(plan);
    if (!byMeter) {
      byMeter = new Map();
      for (const c of plan.components) byMeter.set(c.meterKey, [...(byMeter.get(c.meterKey) ?? []), c]);
      componentsByMeter.set(plan, byMeter);
    }
    const share = cached.shares.get(segment)!;
    for (const reading of event.readings) {
      const components = byMeter.get(reading.meterKey) ?? [];
      if (components.length === 0) {
        unrated.push({ event, reading, reason: "no_component", detail: `plan ${plan.key} v${plan.version} prices no component with meter ${JSON.stringify(reading.meterKey)}` });
        continue;
      }
      let value: Decimal | null = null;
      if (reading.aggregation !== "unique_count") {
        try {
          value = parseDecimal(reading.value, "value");
        } catch (err) {
          if (!(err instanceof DecimalFormatError)) throw err;
          unrated.push({ event, reading, reason: "invalid_value", detail: err.message });
          continue;
        }
      }
      for (const component of components) {
        const dimension = dimensionOf(component);
        const dimensionValue = dimension ? (reading.group[dimension] ?? "") : "";
        const price = priceForValue(component, dimensionValue);
        if (!price) {
          unrated.push({
            event,
            reading,
            reason: "no_price",
            detail: `no price for ${dimension}=${JSON.stringify(dimensionValue)} and no default price (component ${component.key})`,
          });
          continue;
        }
        const key = { subscriptionId: sub.id, componentKey: component.key, dimensionValue, periodStart: period.start, segmentStart: segment.start };
        const idKey = `${component.key}\u0000${dimensionValue}\u0000${segment.start.getTime()}`;
        let ids = cached.ids.get(idKey);
        if (!ids) cached.ids.set(idKey, (ids = { aggregateId: aggregateKey(key), headId: headKey(key) }));
        placements.push({
          key,
          share,
          aggregateId: ids.aggregateId,
          headId: ids.headId,
          event,
          reading,
          value,
          customerId: sub.customerId,
          plan,
          component,
          price,
          period,
          segment,
        });
      }
    }
  }
  return { placements, unrated };
}

export interface CachedPeriod {
  period: Period;
  segments: Segment[];
  shares: Map<Segment, Decimal>;
  ids: Map<string, { aggregateId: string; headId: string }>;
}

/** Most events of a batch fall in the same period: compute it, its segments and shares once. */
function cachedPeriod(cache: Map<string, CachedPeriod[]>, sub: SubscriptionFacts, t: Date): CachedPeriod {
  const cacheId = `${sub.id}@${sub.revision}`;
  let list = cache.get(cacheId);
  if (!list) {
    if (cache.size > 50_000) cache.clear();
    cache.set(cacheId, (list = []));
  }
  const hit = list.find((p) => t.getTime() >= p.period.start.getTime() && t.getTime() < p.period.end.getTime());
  if (hit) return hit;
  const period = periodOf(sub, t);
  const segments = segmentsIn(sub, period);
  // Shares of the nominal period, as the invoice prorates (see periodSegmentInputs).
  const nominal = nominalPeriodOf(sub, period);
  const entry = { period, segments, shares: new Map(segments.map((s) => [s, shareOf(s, nominal)])), ids: new Map() };
  list.push(entry);
  return entry;
}

/** The running state of one aggregate (a row of segment_usage). */
export interface AggregateState {
  key: AggregateKey;
  customerId: string;
  planKey: string;
  planVersion: number;
  meterKey: string;
  segmentEnd: Date;
  periodEnd: Date;
  quantity: Decimal;
  /** Readings applied so far (0: MAX and LATEST take the first value as is). */
  readings: number;
  /** LATEST: event time and id of the value held (ties broken by event id, so any order agrees). */
  latestTime: Date | null;
  latestEventId: string;
  /** Running amount of the segment (see PricerCache.running). */
  amount: Decimal;
}

export interface Crossing {
  key: AggregateKey;
  customerId: string;
  fromTier: number;
  toTier: number;
  /** Billable-scale bound passed nearest to toTier. */
  threshold: Decimal;
  /** Billable quantity right after the event. */
  quantity: Decimal;
  direction: "up" | "down";
  eventId: string;
  eventTime: Date;
  segment: Segment;
}

export interface RunningAmountDraft {
  headKey: string;
  key: AggregateKey;
  customerId: string;
  planKey: string;
  planVersion: number;
  meterKey: string;
  period: Period;
  /** Quantity of the segment the latest usage fell in. */
  quantity: Decimal;
  /** Sum of the period's segment amounts. */
  amount: Decimal;
  currency: string;
}

export interface ApplyResult {
  /** New states of the aggregates that changed. */
  changed: AggregateState[];
  crossings: Crossing[];
  /** One per head touched, in first-touched order. */
  running: RunningAmountDraft[];
}

/**
 * Applies placements, in order, to the states (`states` holds every existing segment of every
 * head touched; missing ones start at zero). `newUniqueValues` holds, for UNIQUE_COUNT, the
 * `aggregateKey + "\u0000" + value` pairs the database had not seen before this batch.
 *
 * Aggregations are order-independent (COUNT/SUM add, MAX keeps the largest, UNIQUE_COUNT counts
 * first sightings, LATEST keeps the value with the greatest (event time, event id)), so late or
 * reordered events within an open period rate exactly as in-order ones. Crossings are reported
 * per event, in the order applied.
 */
export function applyPlacements(
  placements: readonly Placement[],
  states: ReadonlyMap<string, AggregateState>,
  newUniqueValues: ReadonlySet<string>,
  pricers: PricerCache,
): ApplyResult {
  const working = new Map(states);
  const changed = new Map<string, AggregateState>();
  const crossings: Crossing[] = [];
  const lastByHead = new Map<string, Placement>();
  const unseen = new Set(newUniqueValues);

  for (const p of placements) {
    const k = p.aggregateId;
    const before = working.get(k) ?? initialState(p);
    const quantity = aggregate(before, p, k, unseen);
    if (quantity === null) continue;
    const next: AggregateState = {
      ...before,
      quantity,
      readings: before.readings + 1,
      amount: pricers.running(p.price, p.share).amount(quantity),
    };
    if (p.reading.aggregation === "latest" && isLater(p, before)) {
      next.latestTime = p.event.time;
      next.latestEventId = p.event.id;
    }
    working.set(k, next);
    changed.set(k, next);
    lastByHead.set(p.headId, p);

    const fromQ = billable(p.price, before.quantity);
    const toQ = billable(p.price, quantity);
    // One crossing per threshold passed, in order: an event that jumps two tiers crossed twice.
    for (const passed of pricers.tiers(p.price).crossings(fromQ, toQ)) {
      crossings.push({
        key: p.key,
        customerId: p.customerId,
        fromTier: passed.fromTier,
        toTier: passed.toTier,
        threshold: passed.threshold,
        quantity: toQ,
        direction: passed.direction,
        eventId: p.event.id,
        eventTime: p.event.time,
        segment: p.segment,
      });
    }
  }

  const byHead = new Map<string, Decimal>();
  for (const [k, s] of working) {
    const hk = k.slice(0, k.lastIndexOf("\u0000"));
    if (lastByHead.has(hk)) byHead.set(hk, (byHead.get(hk) ?? new Decimal(0)).plus(s.amount));
  }
  const running: RunningAmountDraft[] = [];
  for (const [hk, p] of lastByHead) {
    const amount = byHead.get(hk)!;
    running.push({
      headKey: hk,
      key: p.key,
      customerId: p.customerId,
      planKey: p.plan.key,
      planVersion: p.plan.version,
      meterKey: p.component.meterKey,
      period: p.period,
      quantity: working.get(p.aggregateId)!.quantity,
      amount,
      currency: p.plan.currency,
    });
  }
  return { changed: [...changed.values()], crossings, running };
}

function initialState(p: Placement): AggregateState {
  return {
    key: p.key,
    customerId: p.customerId,
    planKey: p.plan.key,
    planVersion: p.plan.version,
    meterKey: p.component.meterKey,
    segmentEnd: p.segment.end,
    periodEnd: p.period.end,
    quantity: new Decimal(0),
    readings: 0,
    latestTime: null,
    latestEventId: "",
    amount: new Decimal(0),
  };
}

/** The aggregate after one reading, or null when the reading changes nothing to count. */
function aggregate(s: AggregateState, p: Placement, k: string, unseen: Set<string>): Decimal | null {
  switch (p.reading.aggregation) {
    case "count":
    case "sum":
      return s.quantity.plus(p.value!);
    case "max":
      return s.readings === 0 || p.value!.gt(s.quantity) ? p.value! : s.quantity;
    case "latest":
      return isLater(p, s) ? p.value! : s.quantity;
    case "unique_count": {
      const id = `${k}\u0000${p.reading.value}`;
      if (!unseen.delete(id)) return null;
      return s.quantity.plus(1);
    }
  }
}

function isLater(p: Placement, s: AggregateState): boolean {
  if (s.readings === 0 || s.latestTime === null) return true;
  const d = p.event.time.getTime() - s.latestTime.getTime();
  return d > 0 || (d === 0 && p.event.id > s.latestEventId);
}

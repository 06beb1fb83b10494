import { create, fromBinary } from "@bufbuild/protobuf";
import { allSubjectsOf, rating, SUBJECTS } from "@tally/contracts";
import { withTransaction, type Clock, type ReceivedEvent, type Logger, type Pool } from "@tally/platform";
import { Decimal, parseDecimal } from "@tally/pricing";
import * as customers from "../adapter/customer-store";
import * as limitStore from "../adapter/limit-store";
import * as reservations from "../adapter/reservation-store";
import * as usage from "../adapter/usage-store";
import { amountKeyString, type KeptAmount, type MeterSlot } from "../adapter/usage-store";
import { dateOf, subscriptionFromWire } from "../adapter/wire";
import { settleCommitted } from "../domain/reservation-settlement";
import { applyRunningAmount, meterUnits } from "../domain/running-amount";
import type { Period } from "../domain/types";
import type { AlertService } from "./alert-service";
import type { CreditService, SpendChange } from "./credit-service";
import { positionVersions } from "./position-cache";

/**
 * Most running amounts applied in one transaction when consecutive UsageRated messages are merged:
 * more saves statements and commits, but holds the touched customers' meter rows (which reserving
 * Checks wait on) for longer.
 */
export const MAX_AMOUNTS_PER_TRANSACTION = 2000;

/** All of rating's subjects: limits' consumer filter; subjects not handled below are skipped. */
export const RATING_SUBJECTS = allSubjectsOf("rating");

/**
 * Keeps limits' state current from rating's events: plans, each customer's
 * subscription and period, and running amounts — from which counted units,
 * spend, settlements, credit burns and alerts follow, all in the transaction
 * that applies the amounts. Idempotent: snapshots are kept by highest
 * revision/sequence, so redelivery changes nothing.
 */
export class UsageProjector {
  constructor(
    private readonly pool: Pool,
    private readonly clock: Clock,
    private readonly credits: CreditService,
    private readonly alerts: AlertService,
    private readonly logger: Logger,
  ) {}

  /** Handles a batch from the consumer in order; throwing makes the whole batch redeliver. */
  async handle(messages: readonly ReceivedEvent[]): Promise<void> {
    // Consecutive UsageRated messages are applied together, up to MAX_AMOUNTS_PER_TRANSACTION amounts,
    // in one transaction, as if rating had sent them as one message (it splits a large batch into such
    // parts itself): each amount carries its own sequence and is applied in sequence order per key, so
    // the kept snapshots, counted units and total spend are those of applying the messages one by one.
    let run: rating.RunningAmount[] = [];
    const flush = async () => {
      if (run.length > 0) await this.applyUsageRated(create(rating.UsageRatedSchema, { amounts: run }));
      run = [];
    };
    for (const m of messages) {
      if (m.subject === SUBJECTS.rating.usageRated) {
        const { amounts } = fromBinary(rating.UsageRatedSchema, m.data);
        if (run.length > 0 && run.length + amounts.length > MAX_AMOUNTS_PER_TRANSACTION) await flush();
        run.push(...amounts);
        continue;
      }
      await flush();
      if (m.subject === SUBJECTS.rating.subscriptionChanged) await this.applySubscriptionChanged(fromBinary(rating.SubscriptionChangedSchema, m.data));
      else if (m.subject === SUBJECTS.rating.planPublished) await this.applyPlanPublished(fromBinary(rating.PlanPublishedSchema, m.data));
    }
    await flush();
  }

  async applyPlanPublished(event: rating.PlanPublished): Promise<void> {
    if (!event.plan) return;
    await customers.savePlan(this.pool, event.plan).finally(() => positionVersions(this.pool).changed());
  }

  async applySubscriptionChanged(event: rating.SubscriptionChanged): Promise<void> {
    const snapshot = event.subscription && subscriptionFromWire(event.subscription);
    if (!snapshot) {
      this.logger.warn("subscription change without customer, status or period ignored", { id: event.meta?.id });
      return;
    }
    await customers.applySubscription(this.pool, snapshot).finally(() => positionVersions(this.pool).changed(snapshot.customerId));
  }

  /**
   * Applies one UsageRated in one transaction, statement by statement for the
   * whole message rather than per customer: lock every touched meter usage
   * row (sorted, the order Check takes too), lock and advance the running
   * amounts, recount the meters, settle committed holds; then, per customer
   * in order, burn credits and evaluate alerts (only for customers whose
   * effective limits have alerts).
   */
  async applyUsageRated(event: rating.UsageRated): Promise<void> {
    const incoming = event.amounts.flatMap((a) => {
      const parsed = parseAmount(a);
      if (!parsed) this.logger.warn("malformed running amount ignored", { customer: a.customerId, component: a.componentKey });
      return parsed ? [parsed] : [];
    });
    if (incoming.length === 0) return;
    const byCustomer = new Map<string, KeptAmount[]>();
    for (const a of incoming) {
      const list = byCustomer.get(a.customerId);
      if (list) list.push(a);
      else byCustomer.set(a.customerId, [a]);
    }
    const now = this.clock.now();
    await withTransaction(this.pool, async (client) => {
      // Lock order everywhere: meter usage rows (sorted), then customer rows. Check takes the same order.
      const slots = new Map<string, MeterSlot & { period: Period }>();
      for (const a of incoming) {
        const slot = { customerId: a.customerId, meterKey: a.meterKey, periodStart: a.periodStart };
        slots.set(usage.meterSlotKey(slot), { ...slot, period: { start: a.periodStart, end: a.periodEnd } });
      }
      const ordered = [...slots.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, s]) => s);
      const before = await usage.lockMeterUsages(client, ordered);

      const kept = await usage.lockAmounts(client, incoming);
      const spend = new Map<string, SpendChange[]>();
      const changed = new Map<string, KeptAmount>();
      for (const a of [...incoming].sort((x, y) => (x.sequence < y.sequence ? -1 : x.sequence > y.sequence ? 1 : 0))) {
        const key = amountKeyString(a);
        const outcome = applyRunningAmount(kept.get(key), a);
        if (!outcome.apply) continue;
        const next: KeptAmount = { ...a, ...outcome.next };
        kept.set(key, next);
        changed.set(key, next);
        if (!outcome.spendDelta.isZero()) {
          const list = spend.get(a.customerId) ?? [];
          list.push({ sourceRef: `${a.subscriptionId}/${a.componentKey}/${a.dimensionValue}/${a.periodStart.toISOString()}#${a.sequence}`, delta: outcome.spendDelta });
          spend.set(a.customerId, list);
        }
      }
      await usage.saveAmounts(client, [...changed.values()]);

      const components = await usage.meterComponentsOfMany(client, ordered);
      const counted = ordered.map((s) => {
        const rows = components.get(usage.meterSlotKey(s)) ?? [];
        return { ...s, quantity: meterUnits(rows), spend: rows.reduce((sum, r) => sum.plus(r.amount), new Decimal(0)) };
      });
      await usage.saveMeterUsages(client, counted);
      const increases = new Map<string, Decimal>();
      for (const c of counted) {
        const increase = c.quantity.minus(before.get(usage.meterSlotKey(c))?.quantity ?? 0);
        if (increase.gt(0)) increases.set(usage.meterSlotKey(c), increase);
      }
      const held = await reservations.lockCommittedHoldsOfMany(client, ordered.filter((s) => increases.has(usage.meterSlotKey(s))), now);
      await reservations.saveSettlements(client, [...held.entries()].flatMap(([key, holds]) => settleCommitted(holds, increases.get(key)!)));

      // Customers' plans (only this consumer changes them, in stream order) and the limits their alerts
      // are evaluated against: read once for the message.
      const ids = [...byCustomer.keys()].sort();
      const known = await customers.findCustomers(client, ids);
      const planKeys = new Set(ids.map((id) => known.get(id)?.planKey ?? planKeyOf(byCustomer.get(id)!)));
      const limits = await limitStore.limitCandidatesOfMany(client, ids, [...planKeys]);
      await this.credits.applySpend(client, spend, now);
      for (const customerId of ids) {
        const planKey = known.get(customerId)?.planKey ?? planKeyOf(byCustomer.get(customerId)!);
        const candidates = limitStore.candidatesOf(limits, customerId, planKey);
        if (!candidates.some((l) => l.alerts.length > 0)) continue;
        const mine = ordered.filter((s) => s.customerId === customerId);
        const periods = new Map(mine.map((s) => [s.period.start.toISOString(), s.period]));
        for (const period of periods.values()) {
          const meters = mine.filter((s) => s.period.start.getTime() === period.start.getTime()).map((s) => s.meterKey);
          await this.alerts.evaluate(client, customerId, planKey, period, meters, now, candidates);
        }
      }
    }).finally(() => {
      const versions = positionVersions(this.pool);
      for (const customerId of byCustomer.keys()) versions.changed(customerId);
    });
  }
}

/** The plan of a customer limits has no row for yet: the one its latest amount was rated with. */
const planKeyOf = (amounts: readonly KeptAmount[]) => amounts[amounts.length - 1]!.planKey;

function parseAmount(a: rating.RunningAmount): KeptAmount | undefined {
  const start = dateOf(a.period?.start);
  if (!start || a.customerId === "" || a.meterKey === "") return undefined;
  try {
    return {
      subscriptionId: a.subscriptionId,
      componentKey: a.componentKey,
      dimensionValue: a.dimensionValue,
      periodStart: start,
      periodEnd: dateOf(a.period?.end) ?? null,
      customerId: a.customerId,
      meterKey: a.meterKey,
      planKey: a.planKey,
      planVersion: a.planVersion,
      quantity: parseDecimal(a.quantity, "quantity"),
      baseQuantity: new Decimal(0),
      amount: parseDecimal(a.amount, "amount"),
      currency: a.currency,
      sequence: a.sequence,
    };
  } catch {
    return undefined;
  }
}

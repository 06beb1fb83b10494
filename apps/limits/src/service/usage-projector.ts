import { fromBinary } from "@bufbuild/protobuf";
import { allSubjectsOf, rating, SUBJECTS } from "@tally/contracts";
import { withTransaction, type Clock, type ReceivedEvent, type Logger, type Pool, type PoolClient } from "@tally/platform";
import { Decimal, parseDecimal } from "@tally/pricing";
import * as customers from "../adapter/customer-store";
import * as reservations from "../adapter/reservation-store";
import * as usage from "../adapter/usage-store";
import { amountKeyString, type KeptAmount } from "../adapter/usage-store";
import { dateOf, subscriptionFromWire } from "../adapter/wire";
import { settleCommitted } from "../domain/reservation-settlement";
import { applyRunningAmount, meterUnits } from "../domain/running-amount";
import type { AlertService } from "./alert-service";
import type { CreditService, SpendChange } from "./credit-service";
import { positionVersions } from "./position-cache";

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
    for (const m of messages) {
      if (m.subject === SUBJECTS.rating.usageRated) await this.applyUsageRated(fromBinary(rating.UsageRatedSchema, m.data));
      else if (m.subject === SUBJECTS.rating.subscriptionChanged) await this.applySubscriptionChanged(fromBinary(rating.SubscriptionChangedSchema, m.data));
      else if (m.subject === SUBJECTS.rating.planPublished) await this.applyPlanPublished(fromBinary(rating.PlanPublishedSchema, m.data));
    }
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

  async applyUsageRated(event: rating.UsageRated): Promise<void> {
    const incoming = event.amounts.flatMap((a) => {
      const parsed = parseAmount(a);
      if (!parsed) this.logger.warn("malformed running amount ignored", { customer: a.customerId, component: a.componentKey });
      return parsed ? [parsed] : [];
    });
    const byCustomer = new Map<string, KeptAmount[]>();
    for (const a of incoming) byCustomer.set(a.customerId, [...(byCustomer.get(a.customerId) ?? []), a]);
    const now = this.clock.now();
    await withTransaction(this.pool, async (client) => {
      for (const customerId of [...byCustomer.keys()].sort()) await this.applyCustomer(client, customerId, byCustomer.get(customerId)!, now);
    }).finally(() => {
      const versions = positionVersions(this.pool);
      for (const customerId of byCustomer.keys()) versions.changed(customerId);
    });
  }

  private async applyCustomer(client: PoolClient, customerId: string, amounts: KeptAmount[], now: Date): Promise<void> {
    // Lock order everywhere: meter usage rows (sorted), then the customer row. Check takes the same order.
    const slots = new Map<string, { meterKey: string; period: { start: Date; end: Date | null } }>();
    for (const a of amounts) slots.set(`${a.meterKey}\u0000${a.periodStart.toISOString()}`, { meterKey: a.meterKey, period: { start: a.periodStart, end: a.periodEnd } });
    const ordered = [...slots.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, s]) => s);
    const before = new Map<string, Decimal>();
    for (const s of ordered) {
      const row = await usage.lockMeterUsage(client, customerId, s.meterKey, s.period.start);
      before.set(`${s.meterKey}\u0000${s.period.start.toISOString()}`, row.quantity);
    }
    const kept = await usage.lockAmounts(client, amounts);
    const spend: SpendChange[] = [];
    for (const a of [...amounts].sort((x, y) => (x.sequence < y.sequence ? -1 : x.sequence > y.sequence ? 1 : 0))) {
      const key = amountKeyString(a);
      const outcome = applyRunningAmount(kept.get(key), a);
      if (!outcome.apply) continue;
      const next: KeptAmount = { ...a, ...outcome.next };
      await usage.saveAmount(client, next);
      kept.set(key, next);
      if (!outcome.spendDelta.isZero()) spend.push({ sourceRef: `${a.subscriptionId}/${a.componentKey}/${a.dimensionValue}/${a.periodStart.toISOString()}#${a.sequence}`, delta: outcome.spendDelta });
    }
    for (const s of ordered) {
      const rows = await usage.meterComponents(client, customerId, s.meterKey, s.period.start);
      const units = meterUnits(rows);
      const spent = rows.reduce((sum, r) => sum.plus(r.amount), new Decimal(0));
      await usage.saveMeterUsage(client, customerId, s.meterKey, s.period.start, units, spent);
      const increase = units.minus(before.get(`${s.meterKey}\u0000${s.period.start.toISOString()}`)!);
      if (increase.gt(0)) {
        const held = await reservations.lockCommittedHolds(client, customerId, s.meterKey, s.period.start, now);
        await reservations.saveSettlements(client, settleCommitted(held, increase));
      }
    }
    if (spend.length > 0) await this.credits.applySpend(client, customerId, spend, now);
    const customer = await customers.findCustomer(client, customerId);
    const planKey = customer?.planKey ?? amounts[amounts.length - 1]!.planKey;
    const periods = new Map(ordered.map((s) => [s.period.start.toISOString(), s.period]));
    for (const period of periods.values()) {
      const meters = ordered.filter((s) => s.period.start.getTime() === period.start.getTime()).map((s) => s.meterKey);
      await this.alerts.evaluate(client, customerId, planKey, period, meters, now);
    }
  }
}

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

import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { rating, SUBJECTS } from "@tally/contracts";
import type { EventBus } from "@tally/platform";

/**
 * Publishes rating's events the way rating does (proto payloads on the
 * prefixed test subjects), so tests drive limits without running rating.
 */
export class RatingEvents {
  private n = 0;
  constructor(private readonly bus: EventBus) {}

  async plan(key: string, currency: string, components: { key: string; meterKey: string; unitAmount: string }[]): Promise<void> {
    const plan = create(rating.PlanSchema, {
      key,
      version: 1,
      name: key,
      currency,
      components: components.map((c) => ({
        key: c.key,
        meterKey: c.meterKey,
        displayName: c.key,
        pricing: { case: "price" as const, value: { model: { case: "perUnit" as const, value: { unitAmount: c.unitAmount } } } },
      })),
    });
    await this.publish(SUBJECTS.rating.planPublished, toBinary(rating.PlanPublishedSchema, create(rating.PlanPublishedSchema, { plan })));
  }

  async subscription(s: { customerId: string; planKey: string; periodStart: string; periodEnd: string; revision: number; status?: rating.SubscriptionStatus }): Promise<void> {
    const subscription = create(rating.SubscriptionSchema, {
      id: `sub_${s.customerId}`,
      customerId: s.customerId,
      planKey: s.planKey,
      planVersion: 1,
      status: s.status ?? rating.SubscriptionStatus.ACTIVE,
      currentPeriod: { start: timestampFromDate(new Date(s.periodStart)), end: timestampFromDate(new Date(s.periodEnd)) },
      revision: BigInt(s.revision),
    });
    const event = create(rating.SubscriptionChangedSchema, { subscription, kind: rating.ChangeKind.CREATED });
    await this.publish(SUBJECTS.rating.subscriptionChanged, toBinary(rating.SubscriptionChangedSchema, event));
  }

  /** One UsageRated with running amounts (snapshots: quantity and amount so far, per key). */
  async rated(
    amounts: {
      customerId: string;
      meterKey: string;
      componentKey?: string;
      dimension?: string;
      quantity: string;
      amount: string;
      sequence: number;
      periodStart: string;
      periodEnd: string;
      currency?: string;
    }[],
    msgId?: string,
  ): Promise<string> {
    const event = create(rating.UsageRatedSchema, {
      amounts: amounts.map((a) => ({
        customerId: a.customerId,
        subscriptionId: `sub_${a.customerId}`,
        planKey: "pro",
        planVersion: 1,
        componentKey: a.componentKey ?? a.meterKey,
        meterKey: a.meterKey,
        dimensionValue: a.dimension ?? "",
        period: { start: timestampFromDate(new Date(a.periodStart)), end: timestampFromDate(new Date(a.periodEnd)) },
        quantity: a.quantity,
        amount: a.amount,
        currency: a.currency ?? "USD",
        sequence: BigInt(a.sequence),
      })),
    });
    return this.publish(SUBJECTS.rating.usageRated, toBinary(rating.UsageRatedSchema, event), msgId);
  }

  private async publish(subject: string, payload: Uint8Array, msgId = `test-${Date.now()}-${this.n++}`): Promise<string> {
    await this.bus.publish(subject, payload, msgId);
    return msgId;
  }
}

/** Polls until `probe` returns true (state kept from events is eventually current). */
export async function eventually(probe: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { limits, metering } from "@tally/contracts";
import { retrying, type MonthClients } from "./clients";
import { METER, planKey, planToProto, priceBook } from "./plans";
import { MONTH, type Scenario } from "./scenario";

/** The payment method each customer starts with in stripe-local (its test cards). */
export const CARDS = { pays: "pm_card_visa", recovers: "pm_card_chargeDeclinedInsufficientFunds", never: "pm_card_chargeDeclined" } as const;
/** Invoicing finalizes this long after the period ends: late usage inside it is billed. */
export const GRACE_SECONDS = 2 * 3600;

/** Limits learns customers from rating's events: a call naming one just subscribed may come first. */
const untilKnown = { retryIf: (e: { message: string }) => /unknown customer/.test(e.message) };

/** Meter, plans, customers (invoicing and payments), subscriptions, caps with alerts, credits. */
export async function setUpCatalog(c: MonthClients, s: Scenario, concurrency = 16): Promise<Map<string, string>> {
  await retrying(() => c.meter.createMeter({ meter: { key: METER.key, eventType: METER.eventType, aggregation: metering.Aggregation.SUM, valueProperty: METER.valueProperty, groupBy: [METER.dimension] } }), {
    retryIf: (e) => /exists/i.test(e.message),
  }).catch((err: unknown) => {
    if (!/exists/i.test(String(err))) throw err;
  });
  for (const spec of priceBook()) {
    // Rating learns the meter from metering's event: a plan naming it may be refused until then.
    await retrying(() => c.rater.createPlan({ plan: planToProto(spec) }), { retryIf: (e) => /meter_key/.test(e.message) });
  }
  const subscriptions = new Map<string, string>();
  const start = timestampFromDate(MONTH.start);
  await inParallel(s.customers, concurrency, async (cu) => {
    await retrying(() =>
      c.invoicer.createCustomer({
        customer: { customerId: cu.id, legalName: `Customer ${cu.id}`, email: `${cu.id}@month.test`, currency: cu.currency, gracePeriod: { seconds: BigInt(GRACE_SECONDS) }, netTermsDays: 0 },
      }),
    );
    await retrying(() => c.payer.setDefaultPaymentMethod({ customerId: cu.id, paymentMethod: CARDS[cu.payment] }));
    const sub = await retrying(() => c.rater.createSubscription({ customerId: cu.id, planKey: planKey(cu.family, cu.currency), startTime: start, idempotencyKey: `month-${cu.id}` }));
    subscriptions.set(cu.id, sub.subscription!.id);
    if (cu.capTokens) {
      await retrying(() =>
        c.limiter.setLimit({
          limit: {
            scope: { case: "customerId", value: cu.id },
            meterKey: METER.key,
            kind: limits.LimitKind.HARD_CAP,
            measure: limits.LimitMeasure.UNITS,
            value: String(cu.capTokens),
            alerts: [{ threshold: { case: "percent", value: "80" } }],
          },
        }),
        untilKnown,
      );
    }
    if (cu.credits) {
      const grant = (amount: string, key: string, expire?: Date) =>
        retrying(() =>
          c.limiter.grantCredits({
            customerId: cu.id,
            amount: { currency: cu.currency, amount },
            effectiveTime: start,
            ...(expire && { expireTime: timestampFromDate(expire) }),
            idempotencyKey: `month-${cu.id}-${key}`,
            description: key,
          }),
          untilKnown,
        );
      await grant(cu.credits.lasting, "lasting");
      await grant(cu.credits.expiring, "expiring", cu.credits.expiresAt);
    }
  });
  return subscriptions;
}

export async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i]!, i);
      }
    }),
  );
}

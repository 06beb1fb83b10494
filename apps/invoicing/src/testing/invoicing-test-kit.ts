import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { invoicing, payments, rating } from "@tally/contracts";
import { startService, type RunningService } from "@tally/platform";
import { createTestClient, TEST_KEYS, type ManualClock, type TestEnvironment } from "@tally/platform/testing";
import { Decimal } from "@tally/pricing";
import type { CreditBurns } from "../adapter/credit-ledger";
import type { PeriodPricer, PeriodRef } from "../adapter/rating-source";
import type { PricedPeriod } from "../domain/types";
import { createInvoicingService } from "../invoicing-service";

const ts = timestampFromDate;

/** Calendar months in UTC: the period containing `at`. */
export function monthOf(at: Date): { start: Date; end: Date } {
  const start = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
  return { start, end: new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1)) };
}

/**
 * Rating stood in for: each subscription's periods are priced from the line amounts the test set
 * (one USAGE line per amount). `failing` makes every call fail as an unreachable rating would.
 */
export class FakePricer implements PeriodPricer {
  readonly subs = new Map<string, { customerId: string; currency: string; amounts: string[] }>();
  failing: Error | undefined;
  calls = 0;

  async price(refs: PeriodRef[]): Promise<PricedPeriod[]> {
    this.calls++;
    if (this.failing) throw this.failing;
    return refs.map((r) => {
      const s = this.subs.get(r.subscriptionId)!;
      const period = monthOf(r.at);
      return {
        subscriptionId: r.subscriptionId,
        customerId: s.customerId,
        currency: s.currency,
        period,
        segments: [{ planKey: "p", planVersion: 1, range: period, fraction: new Decimal(1) }],
        lines: s.amounts.map((a, n) => ({
          ref: `${period.start.toISOString()}/usage/c${n}`,
          kind: "usage" as const,
          componentKey: `c${n}`,
          dimensionValue: "",
          description: `Component ${n}`,
          quantity: new Decimal(1),
          amount: new Decimal(a),
          period,
          details: [],
        })),
      };
    });
  }
}

export class FakeCredits implements CreditBurns {
  readonly burns = new Map<string, Decimal>();
  async burned(_customerId: string, subscriptionId: string, periodStart: Date): Promise<Decimal> {
    return this.burns.get(`${subscriptionId}@${periodStart.toISOString()}`) ?? new Decimal(0);
  }
}

export async function startInvoicing(env: TestEnvironment, clock: ManualClock, pricer: PeriodPricer, credits: CreditBurns = new FakeCredits()) {
  const service = await startService(createInvoicingService({ cycleIntervalMs: 3_600_000, batchSize: 50 }, undefined, { pricer, credits }), env.config("invoicing"), { clock });
  const c = createTestClient(invoicing.Invoicing, service.address, TEST_KEYS.all);
  return {
    service,
    client: c.client,
    stop: async () => {
      c.close();
      await service.stop();
    },
  };
}

/** Rating's SubscriptionChanged for a subscription starting at `start` on plan "p" v1. */
export async function publishSubscription(env: TestEnvironment, id: string, customerId: string, start: Date, revision = 1): Promise<void> {
  await env.bus.ensureStream("rating");
  const subject = "tally.rating.v1.subscription.changed";
  const msg = create(rating.SubscriptionChangedSchema, {
    meta: { id: `sub:${id}:${revision}`, source: "test", subject, time: ts(start) },
    subscription: {
      id,
      customerId,
      planKey: "p",
      planVersion: 1,
      timeZone: "UTC",
      startTime: ts(start),
      segments: [{ planKey: "p", planVersion: 1, range: { start: ts(start) } }],
      revision: BigInt(revision),
    },
    kind: rating.ChangeKind.CREATED,
  });
  await env.bus.publish(subject, toBinary(rating.SubscriptionChangedSchema, msg), msg.meta!.id);
}

export async function publishPayment(env: TestEnvironment, eventId: string, invoiceId: string, amount: string, currency: string): Promise<void> {
  await env.bus.ensureStream("payments");
  const subject = "tally.payments.v1.payment.succeeded";
  const msg = create(payments.PaymentSucceededSchema, {
    meta: { id: eventId, source: "test", subject },
    attempt: { id: `pay_${eventId}`, invoiceId, amount: { currency, amount } },
  });
  await env.bus.publish(subject, toBinary(payments.PaymentSucceededSchema, msg), eventId);
}

export async function publishDunningExhausted(env: TestEnvironment, eventId: string, invoiceId: string): Promise<void> {
  await env.bus.ensureStream("payments");
  const subject = "tally.payments.v1.dunning.exhausted";
  const msg = create(payments.DunningExhaustedSchema, { meta: { id: eventId, source: "test", subject }, invoiceId });
  await env.bus.publish(subject, toBinary(payments.DunningExhaustedSchema, msg), eventId);
}

export type RunningInvoicing = Awaited<ReturnType<typeof startInvoicing>>;
export type { RunningService };

export { eventually } from "@tally/platform/testing";

import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { rating } from "@tally/contracts";
import type { ServiceClient } from "@tally/platform";
import { Decimal } from "@tally/pricing";
import type { LineKind, PricedPeriod } from "../domain/types";

const KIND: Record<rating.LineKind, LineKind | undefined> = {
  [rating.LineKind.UNSPECIFIED]: undefined,
  [rating.LineKind.RECURRING_FEE]: "recurring_fee",
  [rating.LineKind.USAGE]: "usage",
  [rating.LineKind.MINIMUM_TRUE_UP]: "minimum_true_up",
  [rating.LineKind.MAXIMUM_ADJUSTMENT]: "maximum_adjustment",
};

export interface PeriodRef {
  subscriptionId: string;
  at: Date;
}

/** Where period amounts come from (rating over gRPC; tests may stand in another). */
export interface PeriodPricer {
  price(refs: PeriodRef[]): Promise<PricedPeriod[]>;
}

/** Rating's PreviewPeriods: the same arithmetic as PreviewInvoice, for closed periods too. */
export class RatingPeriodPricer implements PeriodPricer {
  constructor(private readonly client: ServiceClient<typeof rating.Rating>) {}

  async price(refs: PeriodRef[]): Promise<PricedPeriod[]> {
    if (refs.length === 0) return [];
    const res = await this.client.client.previewPeriods({ queries: refs.map((r) => ({ subscriptionId: r.subscriptionId, time: timestampFromDate(r.at) })) });
    return res.previews.map(toPriced);
  }
}

const period = (r: { start?: { seconds: bigint; nanos: number }; end?: { seconds: bigint; nanos: number } } | undefined) => ({
  start: timestampDate(r!.start! as never),
  end: timestampDate(r!.end! as never),
});

/**
 * Rating's preview as a priced period. The segments — each one's plan version and share of the
 * nominal period — are rating's, from the same subscription history as the lines: invoicing's own
 * copy of the subscription (from subscription.changed) may not know yet of a plan change made
 * moments before the period closed.
 */
export function toPriced(p: rating.InvoicePreview): PricedPeriod {
  return {
    subscriptionId: p.subscriptionId,
    customerId: p.customerId,
    currency: p.currency,
    period: period(p.period),
    nominalPeriod: p.nominalPeriod ? period(p.nominalPeriod) : undefined,
    segments: p.segments.map((s) => ({ planKey: s.planKey, planVersion: s.planVersion, range: period(s.period), fraction: new Decimal(s.share) })),
    lines: p.lines.map((l) => ({
      ref: l.ref,
      kind: KIND[l.kind] ?? "usage",
      componentKey: l.componentKey,
      dimensionValue: l.dimensionValue,
      description: l.description,
      quantity: new Decimal(l.quantity),
      amount: new Decimal(l.amount),
      period: period(l.period),
      details: l.details.map((d) => ({
        ref: d.ref,
        tierIndex: d.tierIndex,
        lowerBound: d.lowerBound,
        upperBound: d.upperBound,
        quantity: d.quantity,
        unitAmount: d.unitAmount,
        flatAmount: d.flatAmount,
        subtotal: d.subtotal,
        included: d.included,
      })),
    })),
  };
}

import { Decimal } from "@tally/pricing";

/** What limits keeps per rating key (subscription, component, dimension, period). */
export interface AppliedAmount {
  sequence: bigint;
  planKey: string;
  planVersion: number;
  /** Quantity of the current plan segment (rating's RunningAmount.quantity). */
  quantity: Decimal;
  /** Quantity of the period's earlier plan segments. */
  baseQuantity: Decimal;
  /** Running amount for the period (all segments). */
  amount: Decimal;
}

export interface IncomingAmount {
  sequence: bigint;
  planKey: string;
  planVersion: number;
  quantity: Decimal;
  amount: Decimal;
}

export type AmountOutcome =
  | { apply: false }
  | { apply: true; next: AppliedAmount; spendDelta: Decimal };

/**
 * Applies a RunningAmount snapshot: only a higher sequence than the one kept
 * counts (a repeated or older one changes nothing, which makes redelivery and
 * reordering harmless). The spend delta is the change of the running amount;
 * it is what burns credits (positive) or gives them back (negative).
 * Rating's quantity is per plan segment: when the segment's plan changes, the
 * previous segment's last quantity moves into the base so the period's units
 * keep adding up.
 */
export function applyRunningAmount(kept: AppliedAmount | undefined, incoming: IncomingAmount): AmountOutcome {
  if (kept && incoming.sequence <= kept.sequence) return { apply: false };
  const base = !kept
    ? new Decimal(0)
    : kept.planKey !== incoming.planKey || kept.planVersion !== incoming.planVersion
      ? kept.baseQuantity.plus(kept.quantity)
      : kept.baseQuantity;
  return {
    apply: true,
    next: { ...incoming, baseQuantity: base },
    spendDelta: incoming.amount.minus(kept?.amount ?? 0),
  };
}

/**
 * Counted units of a meter: per component, the sum over its dimension values;
 * across components pricing the same meter, the largest (each sees the whole
 * meter, so summing them would count the same usage twice).
 */
export function meterUnits(rows: readonly { componentKey: string; quantity: Decimal }[]): Decimal {
  const perComponent = new Map<string, Decimal>();
  for (const r of rows) perComponent.set(r.componentKey, (perComponent.get(r.componentKey) ?? new Decimal(0)).plus(r.quantity));
  return [...perComponent.values()].reduce((max, q) => Decimal.max(max, q), new Decimal(0));
}

import { ZERO, type Decimal } from "../decimal";
import { formatDecimal } from "../describe-line";
import type { DraftAmount, LineDraft, ModelPricer } from "../model-pricer";
import type { TierCrossing, TierPosition } from "../types";

/**
 * Minimum (commitment) and maximum (cap) for one period, composed around a model rather than
 * inside it: amount(q) = min(max(base(q), minimum), maximum).
 *
 * `minimum` means "at least this much per period": at zero usage the amount is the minimum.
 * The difference is shown as its own line ("minimum" tops up, "maximum" is negative), so the
 * lines still sum to the amount. Positions and crossings are the model's: a commitment moves
 * money, not tiers. `increment` stays amount(to) − amount(from), so increments still telescope.
 */
export class CommitmentStep implements ModelPricer {
  constructor(
    private readonly inner: ModelPricer,
    private readonly minimum: Decimal | undefined,
    private readonly maximum: Decimal | undefined,
  ) {}

  amount(quantity: Decimal): Decimal {
    return clampAmount(this.inner.amount(quantity), this.minimum, this.maximum);
  }

  increment(from: Decimal, to: Decimal): Decimal {
    return this.amount(to).minus(this.amount(from));
  }

  total(quantity: Decimal): DraftAmount {
    return applyCommitment(this.inner.total(quantity), this.minimum, this.maximum);
  }

  position(quantity: Decimal): TierPosition {
    return this.inner.position(quantity);
  }

  crossings(from: Decimal, to: Decimal): TierCrossing[] {
    return this.inner.crossings(from, to);
  }
}

export function clampAmount(base: Decimal, minimum: Decimal | undefined, maximum: Decimal | undefined): Decimal {
  if (minimum !== undefined && base.lt(minimum)) return minimum;
  if (maximum !== undefined && base.gt(maximum)) return maximum;
  return base;
}

/** Adds the "minimum" or "maximum" adjustment line when the base amount is outside the bounds. */
export function applyCommitment<T extends { amount: Decimal; lines: LineDraft[] }>(
  base: T,
  minimum: Decimal | undefined,
  maximum: Decimal | undefined,
): T {
  let kind: "minimum" | "maximum";
  let amount: Decimal;
  if (minimum !== undefined && base.amount.lt(minimum)) {
    kind = "minimum";
    amount = minimum;
  } else if (maximum !== undefined && base.amount.gt(maximum)) {
    kind = "maximum";
    amount = maximum;
  } else {
    return base;
  }
  const isMinimum = kind === "minimum";
  const adjustment = amount.minus(base.amount);
  const line: LineDraft = {
    ref: kind,
    kind,
    quantity: ZERO,
    unitAmount: ZERO,
    flatAmount: adjustment,
    subtotal: adjustment,
    description: isMinimum
      ? `Minimum commitment of ${formatDecimal(amount)} per period: usage came to ${formatDecimal(base.amount)}, topped up by ${formatDecimal(adjustment)}`
      : `Maximum of ${formatDecimal(amount)} per period: usage came to ${formatDecimal(base.amount)}, capped by ${formatDecimal(adjustment)}`,
  };
  return { ...base, amount, lines: [...base.lines, line] };
}

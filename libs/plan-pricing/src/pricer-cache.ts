import { createPricer, Decimal, toMaxScale, type Pricer, type TierPosition } from "@tally/pricing";
import type { ComponentPrice } from "./component-price";

/**
 * The pricers of a component price, built once and cached (plans are immutable).
 *
 * Three views of the same price, all from the pricing library:
 * - `tiers`: the bare model on the BILLABLE scale (quantity − included units). Tier positions
 *   and crossings are reported on that scale, as the contract says ("tier bounds apply to the
 *   billable quantity"); a commitment moves money, not tiers.
 * - `running`: model + included units + the (prorated) maximum — the running amount published
 *   while the period is open. The minimum is left out: it is a true-up at the period end, not
 *   usage, and would make every idle component look billed.
 * - `invoice`: model + included units + prorated minimum and maximum — preview, quote, forecast.
 *
 * Proration: a period split by an immediate plan change prorates minimum and maximum by the
 * segment's share of the period, exactly in milliseconds, rounded once to 12 decimal places
 * (the NUMERIC(38,12) scale) — a full period has share 1 and is not rounded at all.
 */
export class PricerCache {
  private readonly tierPricers = new WeakMap<ComponentPrice, Pricer>();
  private readonly byShare = new WeakMap<ComponentPrice, Map<string, Pricer>>();

  tiers(cp: ComponentPrice): Pricer {
    let p = this.tierPricers.get(cp);
    if (!p) {
      p = createPricer({ model: cp.price.model });
      this.tierPricers.set(cp, p);
    }
    return p;
  }

  running(cp: ComponentPrice, share: Decimal): Pricer {
    return this.cached(cp, share.eq(1) ? "r:1" : `r:${share.toFixed()}`, () => ({ maximum: cp.maximum && prorate(cp.maximum, share) }));
  }

  invoice(cp: ComponentPrice, share: Decimal): Pricer {
    return this.cached(cp, `i:${share.toFixed()}`, () => ({
      minimum: cp.minimum && prorate(cp.minimum, share),
      maximum: cp.maximum && prorate(cp.maximum, share),
    }));
  }

  private cached(cp: ComponentPrice, key: string, commitment: () => { minimum?: Decimal; maximum?: Decimal }): Pricer {
    let m = this.byShare.get(cp);
    if (!m) {
      m = new Map();
      this.byShare.set(cp, m);
    }
    let p = m.get(key);
    if (!p) {
      const { minimum, maximum } = commitment();
      p = createPricer({ model: cp.price.model, includedUnits: cp.includedUnits, minimum, maximum });
      if (m.size > 64) m.clear();
      m.set(key, p);
    }
    return p;
  }
}

/** max(0, quantity − included units): the quantity the model applies to. */
export function billable(cp: ComponentPrice, quantity: Decimal): Decimal {
  const b = quantity.minus(cp.includedUnits);
  return b.isNeg() ? new Decimal(0) : b;
}

/** A segment's share of its period, exact (1 for a whole period). */
export function shareOf(segment: { start: Date; end: Date }, period: { start: Date; end: Date }): Decimal {
  const seg = segment.end.getTime() - segment.start.getTime();
  const all = period.end.getTime() - period.start.getTime();
  if (all <= 0 || seg >= all) return new Decimal(1);
  return new Decimal(seg).div(all);
}

/** amount × share, clamped once to the stored scale (`toMaxScale`); exact for share 1. */
export function prorate(amount: Decimal, share: Decimal): Decimal {
  if (share.eq(1)) return amount;
  return toMaxScale(amount.times(share));
}

/** Where a billable quantity stands in the model's tiers (index ≥ 0: no included band here). */
export function tierPosition(pricers: PricerCache, cp: ComponentPrice, quantity: Decimal): TierPosition & { tiered: boolean } {
  const tiered = cp.modelKind === "graduated" || cp.modelKind === "volume";
  return { ...pricers.tiers(cp).position(billable(cp, quantity)), tiered };
}

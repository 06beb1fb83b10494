import { Decimal } from "@tally/pricing";
import type { ComponentPricing } from "./component-price";
import type { PricerCache } from "./pricer-cache";

/** A plan component as a consumer of plan events keeps it: which meter, and how it is priced. */
export interface PricedComponent {
  key: string;
  meterKey: string;
  pricing: ComponentPricing;
}

/** Quantities so far per component key, then per dimension value ("" for a non-dimensional component). */
export type ComponentQuantities = ReadonlyMap<string, ReadonlyMap<string, Decimal>>;

const ZERO = new Decimal(0);
const WHOLE_PERIOD = new Decimal(1);

/**
 * What `quantity` more units of `meterKey` add to the running amounts rating publishes for these
 * components: Σ max(0, running(q + quantity) − running(q)), tiers, included units and maximum
 * respected — the same `PricerCache.running` view rating prices with, so limits and rating agree.
 *
 * The maximum is taken for a whole period: a segment of a split period has a lower (prorated)
 * maximum in rating, so this can only over-estimate. A dimensional component has no dimension
 * value in the question, so the most expensive of its prices (each from its value's own
 * quantity) is taken: conservative, never permissive.
 */
export function marginalCost(
  pricers: PricerCache,
  components: readonly PricedComponent[],
  meterKey: string,
  quantities: ComponentQuantities,
  quantity: Decimal,
): Decimal {
  let total = ZERO;
  if (!quantity.gt(0)) return total;
  for (const component of components) {
    if (component.meterKey !== meterKey) continue;
    const current = quantities.get(component.key) ?? new Map<string, Decimal>();
    const increment = (price: Parameters<PricerCache["running"]>[0], q: Decimal) =>
      Decimal.max(0, pricers.running(price, WHOLE_PERIOD).increment(q, q.plus(quantity)));
    const pricing = component.pricing;
    if (pricing.kind === "single") {
      total = total.plus(increment(pricing.price, current.get("") ?? ZERO));
      continue;
    }
    let worst = ZERO;
    for (const [value, price] of pricing.prices) worst = Decimal.max(worst, increment(price, current.get(value) ?? ZERO));
    if (pricing.defaultPrice) {
      const unpricedValues = [...current.keys()].filter((v) => !pricing.prices.has(v));
      for (const q of [ZERO, ...unpricedValues.map((v) => current.get(v)!)]) worst = Decimal.max(worst, increment(pricing.defaultPrice, q));
    }
    total = total.plus(worst);
  }
  return total;
}

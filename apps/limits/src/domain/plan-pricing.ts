import { createPricer, Decimal, type Price, type PriceModel, type Pricer } from "@tally/pricing";

/**
 * A plan component as limits stores it (from tally.rating.v1.plan.published):
 * JSON-safe, decimal strings, in the shape of @tally/pricing's Price.
 */
export interface StoredPrice {
  model:
    | { kind: "per_unit"; unitAmount: string }
    | { kind: "graduated" | "volume"; tiers: { upTo: string; unitAmount: string; flatAmount: string }[] }
    | { kind: "package"; packageSize: string; packageAmount: string }
    | { kind: "flat_fee"; amount: string }
    /** Percent as on the plan ("1.3" = 1.3 %). */
    | { kind: "percentage"; rate: string };
  includedUnits: string;
  minimum: string;
  maximum: string;
}

export interface StoredComponent {
  key: string;
  meterKey: string;
  price?: StoredPrice;
  dimensional?: { prices: Record<string, StoredPrice>; defaultPrice?: StoredPrice };
}

export interface StoredPlan {
  key: string;
  version: number;
  currency: string;
  components: StoredComponent[];
}

const dec = (s: string) => new Decimal(s === "" ? "0" : s);
const optional = (s: string) => (s === "" ? undefined : new Decimal(s));

export function toPricingPrice(p: StoredPrice): Price {
  let model: PriceModel;
  switch (p.model.kind) {
    case "per_unit":
      model = { kind: "per_unit", unitAmount: dec(p.model.unitAmount) };
      break;
    case "graduated":
    case "volume":
      model = {
        kind: p.model.kind,
        tiers: p.model.tiers.map((t) => ({ upTo: optional(t.upTo) ?? null, unitAmount: dec(t.unitAmount), flatAmount: dec(t.flatAmount) })),
      };
      break;
    case "package":
      model = { kind: "package", packageSize: dec(p.model.packageSize), packageAmount: dec(p.model.packageAmount) };
      break;
    case "flat_fee":
      model = { kind: "flat_fee", amount: dec(p.model.amount) };
      break;
    case "percentage":
      // The plan states a percent; @tally/pricing multiplies by a rate.
      model = { kind: "percentage", rate: dec(p.model.rate).div(100) };
      break;
  }
  return { model, includedUnits: optional(p.includedUnits), minimum: optional(p.minimum), maximum: optional(p.maximum) };
}

/**
 * Prices the usage a Check is about, per plan. Plan versions are immutable,
 * so pricers are built once per (plan, version, component) and kept: this
 * cache can never make a decision stale.
 */
export class PlanPricing {
  private readonly pricers = new Map<string, Pricer | null>();

  /**
   * Marginal spend of `quantity` more units of the meter priced by
   * `components`, given each component's current (segment) quantity per
   * dimension value: Σ max(0, amount(q + quantity) − amount(q)), tiers
   * respected. A dimensional component has no dimension in a Check, so the
   * most expensive of its prices (each from its value's own quantity) is
   * taken: conservative, never permissive.
   */
  marginalCost(
    plan: StoredPlan,
    meterKey: string,
    quantities: ReadonlyMap<string, ReadonlyMap<string, Decimal>>,
    quantity: Decimal,
  ): Decimal {
    let total = new Decimal(0);
    if (!quantity.gt(0)) return total;
    for (const component of plan.components) {
      if (component.meterKey !== meterKey) continue;
      const current = quantities.get(component.key) ?? new Map<string, Decimal>();
      const increment = (price: StoredPrice, ref: string, q: Decimal) => {
        const pricer = this.pricer(plan, `${component.key}/${ref}`, price);
        return pricer ? Decimal.max(0, pricer.increment(q, q.plus(quantity))) : new Decimal(0);
      };
      if (component.price) {
        total = total.plus(increment(component.price, "", current.get("") ?? new Decimal(0)));
      } else if (component.dimensional) {
        const { prices, defaultPrice } = component.dimensional;
        let worst = new Decimal(0);
        for (const [value, price] of Object.entries(prices)) {
          worst = Decimal.max(worst, increment(price, `v=${value}`, current.get(value) ?? new Decimal(0)));
        }
        if (defaultPrice) {
          const unpricedValues = [...current.keys()].filter((v) => !(v in prices));
          for (const q of [new Decimal(0), ...unpricedValues.map((v) => current.get(v)!)]) {
            worst = Decimal.max(worst, increment(defaultPrice, "default", q));
          }
        }
        total = total.plus(worst);
      }
    }
    return total;
  }

  private pricer(plan: StoredPlan, ref: string, price: StoredPrice): Pricer | null {
    const key = `${plan.key}@${plan.version}/${ref}`;
    let pricer = this.pricers.get(key);
    if (pricer === undefined) {
      try {
        pricer = createPricer(toPricingPrice(price));
      } catch {
        // Rating validates every plan at creation; a price it accepted and we cannot read prices at 0 here.
        pricer = null;
      }
      this.pricers.set(key, pricer);
    }
    return pricer;
  }
}

import { rating } from "@tally/contracts";
import type { ServiceClient } from "@tally/platform";
import { Decimal, type Price, type PriceModel } from "@tally/pricing";
import type { ComponentSpec, PlanSpec } from "../domain/reconciliation";

/**
 * Plan versions from rating (GetPlan), in the pricing library's terms, for re-derivation. Plan
 * versions are immutable, so each is fetched once. The conversion is written here on purpose, not
 * shared with rating: reconciliation must not inherit a mapping bug from the code it checks.
 */
export class RatingPlans {
  private readonly cache = new Map<string, Promise<PlanSpec>>();
  constructor(private readonly client: ServiceClient<typeof rating.Rating>) {}

  get(key: string, version: number): Promise<PlanSpec> {
    const id = `${key}@${version}`;
    let p = this.cache.get(id);
    if (!p) {
      p = this.client.client.getPlan({ key, version }).then((r) => toSpec(r.plan!));
      p.catch(() => this.cache.delete(id));
      this.cache.set(id, p);
    }
    return p;
  }
}

const dec = (s: string) => new Decimal(s === "" ? "0" : s);
const opt = (s: string) => (s === "" ? undefined : new Decimal(s));

function toSpec(plan: rating.Plan): PlanSpec {
  return {
    currency: plan.currency,
    recurringFee: plan.recurringFee ? new Decimal(plan.recurringFee.amount) : undefined,
    feeInAdvance: plan.recurringFee?.timing === rating.FeeTiming.IN_ADVANCE,
    components: plan.components.map((c): ComponentSpec => {
      const base = { key: c.key, meterKey: c.meterKey };
      if (c.pricing.case === "price") return { ...base, price: toPrice(c.pricing.value) };
      if (c.pricing.case === "dimensionalPrice") {
        const d = c.pricing.value;
        return {
          ...base,
          dimensional: {
            dimension: d.dimension,
            prices: new Map(Object.entries(d.prices).map(([k, p]) => [k, toPrice(p)])),
            defaultPrice: d.defaultPrice ? toPrice(d.defaultPrice) : undefined,
          },
        };
      }
      return base;
    }),
  };
}

function toPrice(p: rating.Price): Price {
  return { model: toModel(p.model), includedUnits: opt(p.includedUnits), minimum: opt(p.minimum), maximum: opt(p.maximum) };
}

function toModel(m: rating.Price["model"]): PriceModel {
  switch (m.case) {
    case "perUnit":
      return { kind: "per_unit", unitAmount: dec(m.value.unitAmount) };
    case "graduated":
    case "volume":
      return { kind: m.case, tiers: m.value.tiers.map((t) => ({ upTo: opt(t.upTo) ?? null, unitAmount: dec(t.unitAmount), flatAmount: dec(t.flatAmount) })) };
    case "package":
      return { kind: "package", packageSize: dec(m.value.packageSize), packageAmount: dec(m.value.packageAmount) };
    case "flatFee":
      return { kind: "flat_fee", amount: dec(m.value.amount) };
    case "percentage":
      // The plan states a percent; the library multiplies by a rate.
      return { kind: "percentage", rate: dec(m.value.rate).div(100) };
    default:
      throw new Error("plan price without a model");
  }
}

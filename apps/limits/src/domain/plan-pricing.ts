import { marginalCost, PricerCache, type ComponentQuantities, type PricedComponent } from "@tally/plan-pricing";
import type { Decimal } from "@tally/pricing";

/**
 * A published plan version as limits prices it: each component mapped by @tally/plan-pricing, the
 * same mapping rating prices with (a plan it cannot map is refused when it arrives, never priced 0).
 */
export interface StoredPlan {
  key: string;
  version: number;
  currency: string;
  components: PricedComponent[];
}

/**
 * Prices the usage a Check is about, per plan. Plan versions are immutable, so pricers are built
 * once per component price and kept: this cache can never make a decision stale.
 */
export class PlanPricing {
  private readonly pricers = new PricerCache();

  /** Marginal spend of `quantity` more units of the meter: see @tally/plan-pricing's marginalCost. */
  marginalCost(plan: StoredPlan, meterKey: string, quantities: ComponentQuantities, quantity: Decimal): Decimal {
    return marginalCost(this.pricers, plan.components, meterKey, quantities, quantity);
  }
}

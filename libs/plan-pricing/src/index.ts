/**
 * @tally/plan-pricing — a `tally.rating.v1` plan price, priced the same everywhere.
 * One mapping from the proto to @tally/pricing (price-from-proto.ts) and the pricers built on it
 * (pricer-cache.ts); see ../README.md.
 */
export { priceForValue, type ComponentPrice, type ComponentPricing, type ModelKind } from "./component-price";
export { componentPricingFromProto, nonNegativeDecimal, planPricingFromProto, priceFromProto, type MeterFacts } from "./price-from-proto";
export { PricerCache, billable, prorate, shareOf, tierPosition } from "./pricer-cache";
export { DECIMAL_VIOLATION_CODES } from "./violation-codes";
export { marginalCost, type ComponentQuantities, type PricedComponent } from "./marginal-cost";

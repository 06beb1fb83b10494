import { nonNegativeDecimal } from "@tally/plan-pricing";
import { Violations } from "@tally/platform/errors";
import { isSupportedCurrency } from "@tally/pricing";
import type { PlanDraft } from "./plan-draft";
import type { Aggregation, MeterInfo, RateComponent, RatePlan } from "./rate-plan";

/**
 * Turns a plan as written into a {@link RatePlan}, collecting EVERY violation with the request's
 * field path (e.g. "plan.components[0].price.graduated.tiers[2].up_to"). Prices are read through
 * the draft's readers, i.e. @tally/plan-pricing, the one mapping shared with limits and invoicing.
 *
 * `meters` is consulted at creation only (null when reloading a stored plan, whose components
 * then keep the aggregation recorded with them).
 */
export function buildRatePlan(
  plan: PlanDraft,
  meters: ((key: string) => MeterInfo | undefined) | null,
  storedAggregations: Record<string, Aggregation> = {},
  path = "plan",
): Omit<RatePlan, "version"> {
  const v = new Violations();
  if (!KEY.test(plan.key)) v.add(`${path}.key`, `must match [a-z][a-z0-9_]{0,62}, got ${JSON.stringify(plan.key)}`, "invalid_pattern");
  if (plan.name.length < 1 || plan.name.length > 255) v.add(`${path}.name`, "must be 1–255 characters", "invalid_length");
  if (!isSupportedCurrency(plan.currency)) v.add(`${path}.currency`, `must be a supported ISO 4217 code, got ${JSON.stringify(plan.currency)}`, "invalid_value");
  if (!plan.interval) v.add(`${path}.billing_interval`, "is required (DAY, MONTH or YEAR)", "required");
  let recurringFee: RatePlan["recurringFee"];
  if (plan.recurringFee) {
    const amount = nonNegativeDecimal(plan.recurringFee.amount, `${path}.recurring_fee.amount`, v);
    if (amount?.isZero()) v.add(`${path}.recurring_fee.amount`, "must be greater than 0", "out_of_range");
    const timing = plan.recurringFee.timing;
    if (!timing) v.add(`${path}.recurring_fee.timing`, "is required (IN_ADVANCE or IN_ARREARS)", "required");
    if (amount && timing) recurringFee = { amount, timing };
  }
  if (plan.components.length > 50) v.add(`${path}.components`, `at most 50 components, got ${plan.components.length}`, "too_many");
  const seen = new Set<string>();
  const components: RateComponent[] = [];
  plan.components.forEach((c, i) => {
    const at = `${path}.components[${i}]`;
    if (!KEY.test(c.key)) v.add(`${at}.key`, `must match [a-z][a-z0-9_]{0,62}, got ${JSON.stringify(c.key)}`, "invalid_pattern");
    else if (seen.has(c.key)) v.add(`${at}.key`, `duplicate component key ${JSON.stringify(c.key)}`, "duplicate");
    seen.add(c.key);
    if (c.displayName.length < 1 || c.displayName.length > 255) v.add(`${at}.display_name`, "must be 1–255 characters", "invalid_length");
    let aggregation: Aggregation | undefined = storedAggregations[c.key];
    let groupBy: string[] | undefined;
    if (meters) {
      const meter = c.meterKey ? meters(c.meterKey) : undefined;
      if (!c.meterKey) v.add(`${at}.meter_key`, "is required", "required");
      else if (!meter) v.add(`${at}.meter_key`, `unknown meter ${JSON.stringify(c.meterKey)}`, "unknown_reference");
      else if (!meter.active) v.add(`${at}.meter_key`, `meter ${JSON.stringify(c.meterKey)} is archived`, "archived_reference");
      else {
        aggregation = meter.aggregation;
        groupBy = meter.groupBy;
      }
    }
    const pricing = c.readPricing(at, { aggregation, groupBy }, v);
    if (pricing && aggregation) {
      components.push({ key: c.key, meterKey: c.meterKey, displayName: c.displayName, aggregation, pricing });
    }
  });
  v.throwIfAny();
  return { key: plan.key, name: plan.name, currency: plan.currency, interval: plan.interval!, recurringFee, components };
}

const KEY = /^[a-z][a-z0-9_]{0,62}$/;

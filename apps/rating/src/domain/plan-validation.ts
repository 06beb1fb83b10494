import { Violations } from "@tally/platform";
import {
  Decimal,
  DecimalFormatError,
  isSupportedCurrency,
  parseDecimal,
  validatePrice,
  type Price,
  type PriceModel,
  type PriceValidationIssue,
} from "@tally/pricing";
import { rating } from "@tally/contracts";
import type { BillingInterval } from "./periods";
import type { Aggregation, ComponentPrice, ComponentPricing, MeterInfo, ModelKind, RateComponent, RatePlan } from "./rate-plan";

/**
 * Turns a plan as written on the wire into a {@link RatePlan}, collecting EVERY violation with the
 * request's field path (e.g. "plan.components[0].price.graduated.tiers[2].up_to").
 *
 * The rate card's contract IS the proto message (it is also what we store), so this module reads
 * the generated type directly rather than a hand-written copy of it. It is the ONE place proto
 * prices are mapped to the pricing library's types; the library's own validation runs on the
 * result and its issues are mapped back to proto field paths.
 *
 * `meters` is consulted at creation only (null when reloading a stored plan, whose components
 * then keep the aggregation recorded with them).
 */
export function buildRatePlan(
  plan: rating.Plan,
  meters: ((key: string) => MeterInfo | undefined) | null,
  storedAggregations: Record<string, Aggregation> = {},
  path = "plan",
): Omit<RatePlan, "version"> {
  const v = new Violations();
  if (!KEY.test(plan.key)) v.add(`${path}.key`, `must match [a-z][a-z0-9_]{0,62}, got ${JSON.stringify(plan.key)}`);
  if (plan.name.length < 1 || plan.name.length > 255) v.add(`${path}.name`, "must be 1–255 characters");
  if (!isSupportedCurrency(plan.currency)) v.add(`${path}.currency`, `must be a supported ISO 4217 code, got ${JSON.stringify(plan.currency)}`);
  const interval = INTERVALS[plan.billingInterval];
  if (!interval) v.add(`${path}.billing_interval`, "is required (DAY, MONTH or YEAR)");
  let recurringFee: RatePlan["recurringFee"];
  if (plan.recurringFee) {
    const amount = decimal(plan.recurringFee.amount, `${path}.recurring_fee.amount`, v);
    if (amount?.isZero()) v.add(`${path}.recurring_fee.amount`, "must be greater than 0");
    const timing =
      plan.recurringFee.timing === rating.FeeTiming.IN_ADVANCE ? "in_advance" : plan.recurringFee.timing === rating.FeeTiming.IN_ARREARS ? "in_arrears" : undefined;
    if (!timing) v.add(`${path}.recurring_fee.timing`, "is required (IN_ADVANCE or IN_ARREARS)");
    if (amount && timing) recurringFee = { amount, timing };
  }
  if (plan.components.length > 50) v.add(`${path}.components`, `at most 50 components, got ${plan.components.length}`);
  const seen = new Set<string>();
  const components: RateComponent[] = [];
  plan.components.forEach((c, i) => {
    const at = `${path}.components[${i}]`;
    if (!KEY.test(c.key)) v.add(`${at}.key`, `must match [a-z][a-z0-9_]{0,62}, got ${JSON.stringify(c.key)}`);
    else if (seen.has(c.key)) v.add(`${at}.key`, `duplicate component key ${JSON.stringify(c.key)}`);
    seen.add(c.key);
    if (c.displayName.length < 1 || c.displayName.length > 255) v.add(`${at}.display_name`, "must be 1–255 characters");
    let aggregation: Aggregation | undefined = storedAggregations[c.key];
    let groupBy: string[] | undefined;
    if (meters) {
      const meter = c.meterKey ? meters(c.meterKey) : undefined;
      if (!c.meterKey) v.add(`${at}.meter_key`, "is required");
      else if (!meter) v.add(`${at}.meter_key`, `unknown meter ${JSON.stringify(c.meterKey)}`);
      else if (!meter.active) v.add(`${at}.meter_key`, `meter ${JSON.stringify(c.meterKey)} is archived`);
      else {
        aggregation = meter.aggregation;
        groupBy = meter.groupBy;
      }
    }
    const pricing = buildPricing(c, at, aggregation, groupBy, v);
    if (pricing && aggregation) {
      components.push({ key: c.key, meterKey: c.meterKey, displayName: c.displayName, aggregation, pricing });
    }
  });
  v.throwIfAny();
  return { key: plan.key, name: plan.name, currency: plan.currency, interval: interval!, recurringFee, components };
}

const KEY = /^[a-z][a-z0-9_]{0,62}$/;

const INTERVALS: Partial<Record<rating.BillingInterval, BillingInterval>> = {
  [rating.BillingInterval.DAY]: "day",
  [rating.BillingInterval.MONTH]: "month",
  [rating.BillingInterval.YEAR]: "year",
};

function buildPricing(
  c: rating.PriceComponent,
  at: string,
  aggregation: Aggregation | undefined,
  groupBy: string[] | undefined,
  v: Violations,
): ComponentPricing | undefined {
  switch (c.pricing.case) {
    case "price": {
      const price = buildPrice(c.pricing.value, `${at}.price`, aggregation, v);
      return price && { kind: "single", price };
    }
    case "dimensionalPrice": {
      const d = c.pricing.value;
      const dp = `${at}.dimensional_price`;
      let ok = true;
      if (!d.dimension) {
        v.add(`${dp}.dimension`, "is required");
        ok = false;
      } else if (groupBy && !groupBy.includes(d.dimension)) {
        v.add(`${dp}.dimension`, `meter ${JSON.stringify(c.meterKey)} does not group by ${JSON.stringify(d.dimension)} (group_by: ${JSON.stringify(groupBy)})`);
        ok = false;
      }
      const entries = Object.entries(d.prices);
      if (entries.length > 200) v.add(`${dp}.prices`, `at most 200 entries, got ${entries.length}`);
      if (entries.length === 0 && !d.defaultPrice) v.add(`${dp}.prices`, "needs at least one price or a default_price");
      const prices = new Map<string, ComponentPrice>();
      for (const [value, p] of entries) {
        const vp = `${dp}.prices[${JSON.stringify(value)}]`;
        if (value === "" || value.length > 512) v.add(vp, "dimension values must be 1–512 characters");
        const built = buildPrice(p, vp, aggregation, v);
        if (built) prices.set(value, built);
        else ok = false;
      }
      let defaultPrice: ComponentPrice | undefined;
      if (d.defaultPrice) {
        defaultPrice = buildPrice(d.defaultPrice, `${dp}.default_price`, aggregation, v);
        if (!defaultPrice) ok = false;
      }
      const minimum = optionalDecimal(d.minimum, `${dp}.minimum`, v);
      const maximum = optionalDecimal(d.maximum, `${dp}.maximum`, v);
      if (minimum && maximum && minimum.gt(maximum)) v.add(`${dp}.maximum`, `maximum ${maximum.toFixed()} is below minimum ${minimum.toFixed()}`);
      return ok ? { kind: "dimensional", dimension: d.dimension, prices, defaultPrice, minimum, maximum } : undefined;
    }
    default:
      v.add(`${at}.pricing`, "exactly one of price or dimensional_price is required");
      return undefined;
  }
}

/** Maps one proto Price to the library, then lets the library validate it. */
function buildPrice(p: rating.Price, at: string, aggregation: Aggregation | undefined, v: Violations): ComponentPrice | undefined {
  const before = v.all.length;
  const includedUnits = optionalDecimal(p.includedUnits, `${at}.included_units`, v) ?? new Decimal(0);
  const minimum = optionalDecimal(p.minimum, `${at}.minimum`, v);
  const maximum = optionalDecimal(p.maximum, `${at}.maximum`, v);
  let model: PriceModel | undefined;
  let modelKind: ModelKind | undefined;
  const m = p.model;
  switch (m.case) {
    case "perUnit": {
      modelKind = "per_unit";
      const unitAmount = decimal(m.value.unitAmount, `${at}.per_unit.unit_amount`, v);
      if (unitAmount) model = { kind: "per_unit", unitAmount };
      break;
    }
    case "graduated":
    case "volume": {
      modelKind = m.case;
      const tp = `${at}.${m.case}.tiers`;
      if (m.value.tiers.length === 0 || m.value.tiers.length > 50) v.add(tp, `needs 1–50 tiers, got ${m.value.tiers.length}`);
      const tiers = m.value.tiers.map((t, i) => {
        const upTo = t.upTo === "" ? null : decimal(t.upTo, `${tp}[${i}].up_to`, v);
        if (t.unitAmount === "" && t.flatAmount === "") v.add(`${tp}[${i}]`, `Tier ${i + 1}: at least one of unit_amount and flat_amount must be set`);
        const unitAmount = optionalDecimal(t.unitAmount, `${tp}[${i}].unit_amount`, v) ?? new Decimal(0);
        const flatAmount = optionalDecimal(t.flatAmount, `${tp}[${i}].flat_amount`, v) ?? new Decimal(0);
        return { upTo: upTo === undefined ? new Decimal(-1) : upTo, unitAmount, flatAmount };
      });
      model = { kind: m.case, tiers };
      break;
    }
    case "package": {
      modelKind = "package";
      const packageSize = decimal(m.value.packageSize, `${at}.package.package_size`, v);
      const packageAmount = decimal(m.value.packageAmount, `${at}.package.package_amount`, v);
      if (packageSize && packageAmount) model = { kind: "package", packageSize, packageAmount };
      break;
    }
    case "flatFee": {
      modelKind = "flat_fee";
      const amount = decimal(m.value.amount, `${at}.flat_fee.amount`, v);
      // The plan's FLAT_FEE charges only when there is usage; the library's flat fee charges
      // always. A single open graduated tier with only a flat amount is exactly "charge once
      // when at least one unit is used", so that is what we hand the library.
      if (amount) model = { kind: "graduated", tiers: [{ upTo: null, unitAmount: new Decimal(0), flatAmount: amount }] };
      break;
    }
    case "percentage": {
      modelKind = "percentage";
      const rate = decimal(m.value.rate, `${at}.percentage.rate`, v);
      // A multiplier on the wire and in the library alike ("1.3" = cost × 1.3).
      if (rate) model = { kind: "percentage", rate };
      if (aggregation && aggregation !== "sum") v.add(`${at}.percentage`, `needs a SUM meter, the component's meter aggregates with ${aggregation.toUpperCase()}`);
      break;
    }
    default:
      v.add(`${at}.model`, "exactly one pricing model is required");
  }
  if (v.all.length > before || !model || !modelKind) return undefined;
  const price: Price = { model, includedUnits, minimum, maximum };
  const issues = validatePrice(price);
  for (const issue of issues) v.add(`${at}.${protoPath(issue, modelKind)}`, issue.message);
  if (issues.length > 0) return undefined;
  return { modelKind, price: { model, includedUnits }, includedUnits, minimum, maximum };
}

/** Library issue path ("model.tiers[2].upTo") → proto path ("graduated.tiers[2].up_to"). */
function protoPath(issue: PriceValidationIssue, modelKind: ModelKind): string {
  if (modelKind === "flat_fee" && issue.path.startsWith("model")) return "flat_fee.amount";
  const snake = issue.path.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return snake.replace(/^model(\.|$)/, `${modelKind}$1`).replace(/\.$/, "");
}

function decimal(value: string, field: string, v: Violations): Decimal | undefined {
  try {
    return parseDecimal(value, field, { nonNegative: true });
  } catch (err) {
    if (err instanceof DecimalFormatError) {
      v.add(field, value === "" ? "is required" : err.message.replace(`${field}: `, ""));
      return undefined;
    }
    throw err;
  }
}

function optionalDecimal(value: string, field: string, v: Violations): Decimal | undefined {
  return value === "" ? undefined : decimal(value, field, v);
}

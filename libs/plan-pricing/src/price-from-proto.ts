import type { Aggregation, rating } from "@tally/contracts";
import { Violations } from "@tally/platform/errors";
import {
  Decimal,
  DecimalFormatError,
  parseDecimal,
  validatePrice,
  type Price,
  type PriceModel,
  type PriceValidationIssue,
} from "@tally/pricing";
import type { ComponentPrice, ComponentPricing, ModelKind } from "./component-price";
import type { PricedComponent } from "./marginal-cost";
import { DECIMAL_VIOLATION_CODES } from "./violation-codes";

/**
 * THE mapping of a `tally.rating.v1` price to the pricing library — rating (plan creation and
 * reload), limits (plan.published) and invoicing all call this, so a price means one amount
 * everywhere. Every violation is collected with the request's field path
 * (e.g. "plan.components[0].price.graduated.tiers[2].up_to"); the library's own validation runs on
 * the result and its issues are mapped back to proto paths. Nothing unreadable is ever priced 0.
 */

/** What the component's meter tells the mapping (unknown when reloading a stored plan). */
export interface MeterFacts {
  aggregation?: Aggregation;
  /** Group-by properties; a dimensional price must split by one of them. Undefined: not checked. */
  groupBy?: readonly string[];
}

/** Maps a plan component's pricing (`price` or `dimensional_price`); undefined when it added violations. */
export function componentPricingFromProto(c: rating.PriceComponent, at: string, meter: MeterFacts, v: Violations): ComponentPricing | undefined {
  switch (c.pricing.case) {
    case "price": {
      const price = priceFromProto(c.pricing.value, `${at}.price`, meter.aggregation, v);
      return price && { kind: "single", price };
    }
    case "dimensionalPrice":
      return dimensionalFromProto(c, c.pricing.value, `${at}.dimensional_price`, meter, v);
    default:
      v.add(`${at}.pricing`, "exactly one of price or dimensional_price is required", "required");
      return undefined;
  }
}

/**
 * A plan's component pricing for a consumer of plan events: every component mapped, or an
 * InvalidArgumentError (`invalid_price`) naming each unreadable price — a consumer must refuse
 * such a plan loudly rather than price its usage at 0.
 */
export function planPricingFromProto(components: readonly rating.PriceComponent[], path = "plan.components"): PricedComponent[] {
  const v = new Violations();
  const priced = components.flatMap((c, i) => {
    const pricing = componentPricingFromProto(c, `${path}[${i}]`, {}, v);
    return pricing ? [{ key: c.key, meterKey: c.meterKey, pricing }] : [];
  });
  v.throwIfAny("invalid_price");
  return priced;
}

function dimensionalFromProto(
  c: rating.PriceComponent,
  d: rating.DimensionalPrice,
  dp: string,
  meter: MeterFacts,
  v: Violations,
): ComponentPricing | undefined {
  let ok = true;
  if (!d.dimension) {
    v.add(`${dp}.dimension`, "is required", "required");
    ok = false;
  } else if (meter.groupBy && !meter.groupBy.includes(d.dimension)) {
    v.add(`${dp}.dimension`, `meter ${JSON.stringify(c.meterKey)} does not group by ${JSON.stringify(d.dimension)} (group_by: ${JSON.stringify(meter.groupBy)})`, "not_allowed");
    ok = false;
  }
  const entries = Object.entries(d.prices);
  if (entries.length > 200) v.add(`${dp}.prices`, `at most 200 entries, got ${entries.length}`, "too_many");
  if (entries.length === 0 && !d.defaultPrice) v.add(`${dp}.prices`, "needs at least one price or a default_price", "required");
  const prices = new Map<string, ComponentPrice>();
  for (const [value, p] of entries) {
    const vp = `${dp}.prices[${JSON.stringify(value)}]`;
    if (value === "" || value.length > 512) v.add(vp, "dimension values must be 1–512 characters", "invalid_length");
    const built = priceFromProto(p, vp, meter.aggregation, v);
    if (built) prices.set(value, built);
    else ok = false;
  }
  let defaultPrice: ComponentPrice | undefined;
  if (d.defaultPrice) {
    defaultPrice = priceFromProto(d.defaultPrice, `${dp}.default_price`, meter.aggregation, v);
    if (!defaultPrice) ok = false;
  }
  const minimum = optionalDecimal(d.minimum, `${dp}.minimum`, v);
  const maximum = optionalDecimal(d.maximum, `${dp}.maximum`, v);
  if (minimum && maximum && minimum.gt(maximum)) v.add(`${dp}.maximum`, `maximum ${maximum.toFixed()} is below minimum ${minimum.toFixed()}`, "out_of_range");
  return ok ? { kind: "dimensional", dimension: d.dimension, prices, defaultPrice, minimum, maximum } : undefined;
}

/** Maps one proto Price to the library, then lets the library validate it. */
export function priceFromProto(p: rating.Price, at: string, aggregation: Aggregation | undefined, v: Violations): ComponentPrice | undefined {
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
      const unitAmount = nonNegativeDecimal(m.value.unitAmount, `${at}.per_unit.unit_amount`, v);
      if (unitAmount) model = { kind: "per_unit", unitAmount };
      break;
    }
    case "graduated":
    case "volume": {
      modelKind = m.case;
      const tp = `${at}.${m.case}.tiers`;
      if (m.value.tiers.length === 0 || m.value.tiers.length > 50) v.add(tp, `needs 1–50 tiers, got ${m.value.tiers.length}`, "invalid_length");
      const tiers = m.value.tiers.map((t, i) => {
        const upTo = t.upTo === "" ? null : nonNegativeDecimal(t.upTo, `${tp}[${i}].up_to`, v);
        if (t.unitAmount === "" && t.flatAmount === "") v.add(`${tp}[${i}]`, `Tier ${i + 1}: at least one of unit_amount and flat_amount must be set`, "required");
        const unitAmount = optionalDecimal(t.unitAmount, `${tp}[${i}].unit_amount`, v) ?? new Decimal(0);
        const flatAmount = optionalDecimal(t.flatAmount, `${tp}[${i}].flat_amount`, v) ?? new Decimal(0);
        return { upTo: upTo === undefined ? new Decimal(-1) : upTo, unitAmount, flatAmount };
      });
      model = { kind: m.case, tiers };
      break;
    }
    case "package": {
      modelKind = "package";
      const packageSize = nonNegativeDecimal(m.value.packageSize, `${at}.package.package_size`, v);
      const packageAmount = nonNegativeDecimal(m.value.packageAmount, `${at}.package.package_amount`, v);
      if (packageSize && packageAmount) model = { kind: "package", packageSize, packageAmount };
      break;
    }
    case "flatFee": {
      modelKind = "flat_fee";
      const amount = nonNegativeDecimal(m.value.amount, `${at}.flat_fee.amount`, v);
      // The plan's FLAT_FEE charges only when there is usage; the library's flat fee charges
      // always. A single open graduated tier with only a flat amount is exactly "charge once
      // when at least one unit is used", so that is what we hand the library.
      if (amount) model = { kind: "graduated", tiers: [{ upTo: null, unitAmount: new Decimal(0), flatAmount: amount }] };
      break;
    }
    case "percentage": {
      modelKind = "percentage";
      const rate = nonNegativeDecimal(m.value.rate, `${at}.percentage.rate`, v);
      // A multiplier on the wire and in the library alike ("1.3" = cost × 1.3), never a percent.
      if (rate) model = { kind: "percentage", rate };
      if (aggregation && aggregation !== "sum") v.add(`${at}.percentage`, `needs a SUM meter, the component's meter aggregates with ${aggregation.toUpperCase()}`, "not_allowed");
      break;
    }
    default:
      // Also a model added to the contract after this build: refused, never priced 0.
      v.add(`${at}.model`, "exactly one known pricing model is required", "required");
  }
  if (v.all.length > before || !model || !modelKind) return undefined;
  const price: Price = { model, includedUnits, minimum, maximum };
  const issues = validatePrice(price);
  for (const issue of issues) v.add(`${at}.${protoPath(issue, modelKind)}`, issue.message, issue.code);
  if (issues.length > 0) return undefined;
  return { modelKind, price: { model, includedUnits }, includedUnits, minimum, maximum };
}

/** Library issue path ("model.tiers[2].upTo") → proto path ("graduated.tiers[2].up_to"). */
function protoPath(issue: PriceValidationIssue, modelKind: ModelKind): string {
  if (modelKind === "flat_fee" && issue.path.startsWith("model")) return "flat_fee.amount";
  const snake = issue.path.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return snake.replace(/^model(\.|$)/, `${modelKind}$1`).replace(/\.$/, "");
}

/** A required non-negative decimal; a violation naming the field when it is not one. */
export function nonNegativeDecimal(value: string, field: string, v: Violations): Decimal | undefined {
  try {
    return parseDecimal(value, field, { nonNegative: true });
  } catch (err) {
    if (err instanceof DecimalFormatError) {
      v.add(field, value === "" ? "is required" : err.message.replace(`${field}: `, ""), DECIMAL_VIOLATION_CODES[err.code]);
      return undefined;
    }
    throw err;
  }
}

function optionalDecimal(value: string, field: string, v: Violations): Decimal | undefined {
  return value === "" ? undefined : nonNegativeDecimal(value, field, v);
}

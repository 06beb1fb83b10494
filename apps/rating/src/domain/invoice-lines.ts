import { createDimensionalPricer, Decimal, type DimensionalPricer, type PriceLine } from "@tally/pricing";
import { prorate, type PricerCache } from "@tally/plan-pricing";
import type { Period } from "./periods";
import type { ComponentPrice } from "@tally/plan-pricing";
import type { RateComponent, RatePlan } from "./rate-plan";

/**
 * Explained invoice lines for one plan segment (or one full period for a quote), built from the
 * pricing library's PriceLines. Amounts are precise; rounding happens once, on the total.
 */

export type LineKind = "recurring_fee" | "usage" | "minimum_true_up" | "maximum_adjustment";

export interface LineDetail {
  ref: string;
  tierIndex: number;
  /** Billable-scale bounds, for tiered models only. */
  lowerBound?: Decimal;
  upperBound?: Decimal | null;
  quantity: Decimal;
  unitAmount: Decimal;
  flatAmount: Decimal;
  subtotal: Decimal;
  included: boolean;
}

export interface InvoiceLineDraft {
  ref: string;
  kind: LineKind;
  componentKey: string;
  dimensionValue: string;
  description: string;
  quantity: Decimal;
  details: LineDetail[];
  amount: Decimal;
  /** The segment; undefined for a quote. */
  period?: Period;
}

/** Quantities of one segment: component key → dimension value ("" if none) → quantity. */
export type SegmentQuantities = ReadonlyMap<string, ReadonlyMap<string, Decimal>>;

export interface SegmentInput {
  plan: RatePlan;
  /** The segment range (undefined for a quote). */
  range?: Period;
  /** The segment's share of its period (1 for a whole period). */
  share: Decimal;
  quantities: SegmentQuantities;
  /**
   * Set when an immediate plan change ends this segment before its period does: the shares of the
   * period from the segment's start to the period's end (what a fee in advance charged) and from
   * the segment's end to the period's end (the unused part, credited back).
   */
  replaced?: { charged: Decimal; credited: Decimal };
}

/**
 * The recurring fee of a segment. In arrears, or in advance without a change: the fee × the
 * segment's share. In advance and replaced by an immediate change: the fee for the rest of the
 * period from the segment's start, and a credit for the unused part; the next segment charges its
 * own fee for the rest. ($50 → $100 on day 10 of 30: 50, −33.333…, 66.666…: the same sum,
 * rounded once on the invoice.)
 */
function feeLines(plan: RatePlan, fee: NonNullable<RatePlan["recurringFee"]>, input: SegmentInput, base: string): InvoiceLineDraft[] {
  const { share, range } = input;
  const percent = (s: Decimal) => s.times(100).toDecimalPlaces(2).toFixed();
  const replaced = fee.timing === "in_advance" ? input.replaced : undefined;
  const charged = replaced?.charged ?? share;
  const line = (ref: string, description: string, quantity: Decimal, amount: Decimal): InvoiceLineDraft => ({
    ref,
    kind: "recurring_fee",
    componentKey: "",
    dimensionValue: "",
    description,
    quantity,
    details: [],
    amount,
    period: range,
  });
  const lines = [line(`${base}/fee`, charged.eq(1) ? `${plan.name} (${plan.interval}ly fee)` : `${plan.name} (fee, ${percent(charged)}% of the period)`, charged, prorate(fee.amount, charged))];
  if (replaced) {
    lines.push(line(`${base}/fee-credit`, `${plan.name} (unused fee credited, ${percent(replaced.credited)}% of the period)`, replaced.credited.neg(), prorate(fee.amount, replaced.credited).neg()));
  }
  return lines;
}

export function segmentLines(input: SegmentInput, pricers: PricerCache, dimensional: DimensionalPricerCache): InvoiceLineDraft[] {
  const { plan, range, share, quantities } = input;
  const base = range ? range.start.toISOString() : "quote";
  const lines: InvoiceLineDraft[] = [];
  if (plan.recurringFee) lines.push(...feeLines(plan, plan.recurringFee, input, base));
  for (const component of plan.components) {
    const byValue = quantities.get(component.key) ?? new Map<string, Decimal>();
    const pricing = component.pricing;
    if (pricing.kind === "single") {
      const q = byValue.get("") ?? new Decimal(0);
      const priced = pricers.invoice(pricing.price, share).total(q);
      lines.push(...componentLines(`${base}/usage/${component.key}`, component, "", pricing.price, q, priced.lines, range));
      continue;
    }
    const values = [...byValue.keys()].filter((v) => pricing.prices.has(v) || pricing.defaultPrice).sort();
    const pricer = dimensional.get(component, share);
    const priced = pricer.total(new Map(values.map((v) => [v, byValue.get(v)!])));
    for (const value of values) {
      const prefix = `${encodeURIComponent(pricing.dimension)}=${encodeURIComponent(value)}/`;
      const own = priced.lines.filter((l) => l.ref.startsWith(prefix)).map((l) => ({ ...l, ref: l.ref.slice(prefix.length) }));
      const price = pricing.prices.get(value) ?? pricing.defaultPrice!;
      lines.push(...componentLines(`${base}/usage/${component.key}/${value}`, component, value, price, byValue.get(value)!, own, range));
    }
    const overall = priced.lines.filter((l) => !l.ref.includes("/"));
    lines.push(...adjustmentLines(`${base}/usage/${component.key}`, component, "", overall, range));
  }
  return lines;
}

function componentLines(
  ref: string,
  component: RateComponent,
  dimensionValue: string,
  price: ComponentPrice,
  quantity: Decimal,
  priceLines: PriceLine[],
  range: Period | undefined,
): InvoiceLineDraft[] {
  const usage = priceLines.filter((l) => l.kind !== "minimum" && l.kind !== "maximum" && l.kind !== "unpriced");
  const details = usage.map((l) => detail(`${ref}/${l.ref.replace(":", "/")}`, l, price));
  const amount = details.reduce((sum, d) => sum.plus(d.subtotal), new Decimal(0));
  return [
    {
      ref,
      kind: "usage",
      componentKey: component.key,
      dimensionValue,
      description: dimensionValue ? `${component.displayName} (${dimensionValue})` : component.displayName,
      quantity,
      details,
      amount,
      period: range,
    },
    ...adjustmentLines(ref, component, dimensionValue, priceLines, range),
  ];
}

function adjustmentLines(ref: string, component: RateComponent, dimensionValue: string, priceLines: PriceLine[], range: Period | undefined): InvoiceLineDraft[] {
  return priceLines
    .filter((l) => l.kind === "minimum" || l.kind === "maximum")
    .map((l) => ({
      ref: `${ref}/${l.kind}`,
      kind: l.kind === "minimum" ? "minimum_true_up" : "maximum_adjustment",
      componentKey: component.key,
      dimensionValue,
      description: `${component.displayName}${dimensionValue ? ` (${dimensionValue})` : ""}: ${l.description}`,
      quantity: new Decimal(1),
      details: [],
      amount: l.subtotal,
      period: range,
    }));
}

function detail(ref: string, l: PriceLine, price: ComponentPrice): LineDetail {
  const tiered = (price.modelKind === "graduated" || price.modelKind === "volume") && l.kind !== "included";
  return {
    ref,
    tierIndex: tiered ? (l.tierIndex ?? 0) : 0,
    lowerBound: tiered && l.lowerBound ? Decimal.max(0, l.lowerBound.minus(price.includedUnits)) : undefined,
    upperBound: tiered ? (l.upperBound ? l.upperBound.minus(price.includedUnits) : null) : undefined,
    quantity: l.quantity,
    unitAmount: l.unitAmount,
    flatAmount: l.flatAmount,
    subtotal: l.subtotal,
    included: l.kind === "included",
  };
}

/** Dimensional pricers with every value's minimum/maximum (and the overall ones) prorated. */
export class DimensionalPricerCache {
  private readonly cache = new WeakMap<RateComponent, Map<string, DimensionalPricer>>();

  get(component: RateComponent, share: Decimal): DimensionalPricer {
    const pricing = component.pricing;
    if (pricing.kind !== "dimensional") throw new Error(`component ${component.key} is not dimensional`);
    let m = this.cache.get(component);
    if (!m) this.cache.set(component, (m = new Map()));
    const key = share.toFixed();
    let p = m.get(key);
    if (!p) {
      const prorated = (cp: ComponentPrice) => ({
        model: cp.price.model,
        includedUnits: cp.includedUnits,
        minimum: cp.minimum && prorate(cp.minimum, share),
        maximum: cp.maximum && prorate(cp.maximum, share),
      });
      p = createDimensionalPricer({
        dimension: pricing.dimension,
        prices: Object.fromEntries([...pricing.prices].map(([v, cp]) => [v, prorated(cp)])),
        defaultPrice: pricing.defaultPrice && prorated(pricing.defaultPrice),
        minimum: pricing.minimum && prorate(pricing.minimum, share),
        maximum: pricing.maximum && prorate(pricing.maximum, share),
      });
      if (m.size > 64) m.clear();
      m.set(key, p);
    }
    return p;
  }
}

/** Precise sum of line amounts. */
export function subtotalOf(lines: readonly InvoiceLineDraft[]): Decimal {
  return lines.reduce((sum, l) => sum.plus(l.amount), new Decimal(0));
}

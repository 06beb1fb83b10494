import { forecastUsage, seedFrom, type CohortPrior, type ForecastBasis, type PastPeriod, type PeriodDay, type Quantity } from "@tally/forecasting";
import { Decimal } from "@tally/pricing";
import type { PricerCache } from "@tally/plan-pricing";
import { isAdditive } from "./daily-usage";
import { segmentLines, subtotalOf, type DimensionalPricerCache, type InvoiceLineDraft, type SegmentInput } from "./invoice-lines";
import type { Period } from "./periods";
import { priceForValue, type RateComponent } from "./rate-plan";

/** A projected distribution; P50 is the point forecast. */
export interface Range {
  p10: Decimal;
  p50: Decimal;
  p90: Decimal;
}

export type ComponentBasis = ForecastBasis | "not_extrapolated";

export interface ComponentForecastDraft {
  componentKey: string;
  dimensionValue: string;
  /** In the current segment. */
  quantityToDate: Decimal;
  quantity: Range;
  amountToDate: Decimal;
  amount: Range;
  basis: ComponentBasis;
}

export interface ForecastDraft {
  amountToDate: Decimal;
  amount: Range;
  /** The exact elapsed fraction of the period: elapsedMillis ÷ periodMillis. */
  elapsedMillis: number;
  periodMillis: number;
  components: ComponentForecastDraft[];
}

/** One component's (and dimension value's) daily usage, the forecast's evidence. */
export interface ComponentHistory {
  /** Usage per day of this period started by `now` (all plan segments), aligned with `days`; estimation only. */
  usage: Quantity[];
  /** Earlier whole periods, oldest first. */
  history: PastPeriod[];
}

export interface PeriodForecastInput {
  subscriptionId: string;
  period: Period;
  /** The period's plan segments, the current one last, with their rated quantities. */
  segments: readonly SegmentInput[];
  /** The period's day grid in the subscription's time zone. */
  days: readonly PeriodDay[];
  now: Date;
  historyOf(componentKey: string, dimensionValue: string): ComponentHistory;
  /** Dimension values with usage in this period, per component key (from the daily rollup). */
  valuesSeen(componentKey: string): readonly string[];
  cohortOf(component: RateComponent, dimensionValue: string): CohortPrior | undefined;
  /** Plan changes (segment starts after a subscription's first), where usage may jump. */
  levelShifts: readonly Date[];
  /** Simulated paths per component (default 1,000). */
  samples?: number;
}

const ZERO = new Decimal(0);

/**
 * The period's end amount as P10/P50/P90 (see the README): earlier plan segments at their actual
 * amounts, the current segment's recurring fee as invoiced, and each component of the current
 * plan projected by @tally/forecasting from its daily usage across segments and earlier periods,
 * every simulated quantity priced with the segment's plan (minimum and maximum included). MAX,
 * UNIQUE_COUNT and LATEST are not extrapolated. The total's quantiles add the components'
 * (comonotone: exact if their deviations move together, a wider range otherwise) so the P50 is
 * the sum of the components' P50s, as a finance reader adds them.
 */
export function forecastPeriod(input: PeriodForecastInput, pricers: PricerCache, dimensional: DimensionalPricerCache): ForecastDraft {
  const { segments, period, now } = input;
  const current = segments[segments.length - 1]!;
  const earlier = subtotalOf(segments.slice(0, -1).flatMap((s) => segmentLines(s, pricers, dimensional)));
  const currentLines = segmentLines(current, pricers, dimensional);
  const fee = sumOf(currentLines.filter((l) => l.kind === "recurring_fee"));
  const components: ComponentForecastDraft[] = [];
  for (const component of current.plan.components) {
    for (const value of valuesOf(component, current, input)) components.push(forecastComponent(input, current, component, value, pricers));
  }
  const overall = overallAdjustments(components, current, pricers, dimensional);
  const total = (k: keyof Range) => earlier.plus(fee).plus(overall).plus(components.reduce((s, c) => s.plus(c.amount[k]), ZERO));
  const elapsedMillis = Math.min(Math.max(now.getTime() - period.start.getTime(), 0), period.end.getTime() - period.start.getTime());
  return {
    amountToDate: earlier.plus(subtotalOf(currentLines)),
    amount: { p10: total("p10"), p50: total("p50"), p90: total("p90") },
    elapsedMillis,
    periodMillis: period.end.getTime() - period.start.getTime(),
    components,
  };
}

/** Every dimension value priced in the segment or seen this period; "" for a plain component (listed even at 0). */
function valuesOf(component: RateComponent, current: SegmentInput, input: PeriodForecastInput): string[] {
  if (component.pricing.kind === "single") return [""];
  const values = new Set([...(current.quantities.get(component.key)?.keys() ?? []), ...input.valuesSeen(component.key)]);
  const priced = [...values].filter((v) => priceForValue(component, v)).sort();
  return priced.length > 0 ? priced : [""];
}

function forecastComponent(input: PeriodForecastInput, current: SegmentInput, component: RateComponent, value: string, pricers: PricerCache): ComponentForecastDraft {
  const quantityToDate = current.quantities.get(component.key)?.get(value) ?? ZERO;
  const price = priceForValue(component, value);
  // A dimensional component with no usage and no default price: listed, at zero.
  const amountOf = price ? (q: Decimal) => pricers.invoice(price, current.share).amount(q) : () => ZERO;
  const amountToDate = amountOf(quantityToDate);
  const held = { quantityToDate, quantity: same(quantityToDate), amountToDate, amount: same(amountToDate) };
  if (!isAdditive(component.aggregation) || !price) return { componentKey: component.key, dimensionValue: value, ...held, basis: "not_extrapolated" };
  const { usage, history } = input.historyOf(component.key, value);
  // The period so far, exactly: every segment's rated quantity of this component and value.
  const periodToDate = input.segments.reduce((s, seg) => s.plus(seg.quantities.get(component.key)?.get(value) ?? ZERO), ZERO);
  // The series spans every segment of the period; the current segment gets what is still to come.
  const inSegment = (periodQuantity: Decimal) => Decimal.max(quantityToDate.plus(periodQuantity.minus(periodToDate)), quantityToDate);
  const f = forecastUsage({
    days: input.days,
    usage,
    quantityToDate: periodToDate,
    now: input.now,
    history,
    levelShifts: input.levelShifts,
    cohort: input.cohortOf(component, value),
    seed: seedFrom(`${input.subscriptionId}/${input.period.start.toISOString()}/${component.key}/${value}`),
    samples: input.samples,
    price: (q) => amountOf(inSegment(q)),
    // Every model but volume (and minimum/maximum around it) never charges less for more.
    priceNeverFalls: price.modelKind !== "volume",
    byDay: false,
  });
  return {
    componentKey: component.key,
    dimensionValue: value,
    quantityToDate,
    quantity: { p10: inSegment(f.quantity.p10), p50: inSegment(f.quantity.p50), p90: inSegment(f.quantity.p90) },
    amountToDate,
    amount: { p10: f.amount!.p10, p50: f.amount!.p50, p90: f.amount!.p90 },
    basis: f.basis,
  };
}

/**
 * A dimensional component's overall minimum/maximum (not any one value's), at the P50 quantities
 * and added to every quantile: such a commitment spans values, so no one value's range holds it.
 */
function overallAdjustments(components: readonly ComponentForecastDraft[], current: SegmentInput, pricers: PricerCache, dimensional: DimensionalPricerCache): Decimal {
  const keys = new Set(current.plan.components.filter((c) => c.pricing.kind === "dimensional").map((c) => c.key));
  if (keys.size === 0) return ZERO;
  const p50 = new Map<string, Map<string, Decimal>>();
  for (const c of components) {
    const byValue = p50.get(c.componentKey) ?? new Map<string, Decimal>();
    byValue.set(c.dimensionValue, c.quantity.p50);
    p50.set(c.componentKey, byValue);
  }
  const lines = segmentLines({ ...current, quantities: p50 }, pricers, dimensional);
  return sumOf(lines.filter((l) => keys.has(l.componentKey) && l.dimensionValue === "" && (l.kind === "minimum_true_up" || l.kind === "maximum_adjustment")));
}

function sumOf(lines: readonly InvoiceLineDraft[]): Decimal {
  return lines.reduce((s, l) => s.plus(l.amount), ZERO);
}

function same(d: Decimal): Range {
  return { p10: d, p50: d, p90: d };
}

import { Decimal, toMaxScale } from "@tally/pricing";
import type { PricerCache } from "@tally/plan-pricing";
import { segmentLines, subtotalOf, type DimensionalPricerCache, type SegmentInput } from "./invoice-lines";

export interface ComponentForecastDraft {
  componentKey: string;
  dimensionValue: string;
  quantityToDate: Decimal;
  projectedQuantity: Decimal;
  amountToDate: Decimal;
  projectedAmount: Decimal;
}

export interface ForecastDraft {
  amountToDate: Decimal;
  projectedAmount: Decimal;
  elapsedFraction: Decimal;
  components: ComponentForecastDraft[];
}

/**
 * Projects the period's amount from the run-rate of USAGE (not of money), so tiers, included
 * units, minimums and maximums are applied to the projected quantities:
 *
 *   f = (now − current segment start) ÷ (period end − current segment start)
 *   projected quantity = quantity to date ÷ f      for COUNT and SUM components
 *                      = quantity to date           for MAX, UNIQUE_COUNT and LATEST
 *
 * Earlier segments count at their actual amounts; the recurring fee counts in full (prorated per
 * segment). With f = 0 the projection is the amount to date. Projected quantities are rounded
 * to 12 decimal places (the storage scale), the only rounding before the total.
 */
export function forecast(
  segments: readonly SegmentInput[],
  now: Date,
  periodEnd: Date,
  pricers: PricerCache,
  dimensional: DimensionalPricerCache,
): ForecastDraft {
  let amountToDate = new Decimal(0);
  let projectedAmount = new Decimal(0);
  const current = segments[segments.length - 1];
  let elapsedFraction = new Decimal(0);
  const components: ComponentForecastDraft[] = [];
  segments.forEach((segment) => {
    const actual = subtotalOf(segmentLines(segment, pricers, dimensional));
    amountToDate = amountToDate.plus(actual);
    if (segment !== current) {
      projectedAmount = projectedAmount.plus(actual);
      return;
    }
    const start = segment.range!.start.getTime();
    const span = periodEnd.getTime() - start;
    const elapsed = Math.min(Math.max(now.getTime() - start, 0), span);
    elapsedFraction = span > 0 ? new Decimal(elapsed).div(span) : new Decimal(1);
    const projectedQuantities = new Map<string, Map<string, Decimal>>();
    for (const component of segment.plan.components) {
      const byValue = segment.quantities.get(component.key);
      if (!byValue) continue;
      const extrapolate = (component.aggregation === "count" || component.aggregation === "sum") && !elapsedFraction.isZero();
      const projected = new Map<string, Decimal>();
      for (const [value, q] of byValue) {
        projected.set(value, extrapolate ? toMaxScale(q.div(elapsedFraction)) : q);
      }
      projectedQuantities.set(component.key, projected);
    }
    const projectedSegment: SegmentInput = { ...segment, quantities: projectedQuantities };
    const projectedLines = segmentLines(projectedSegment, pricers, dimensional);
    projectedAmount = projectedAmount.plus(subtotalOf(projectedLines));
    const actualLines = segmentLines(segment, pricers, dimensional);
    for (const component of segment.plan.components) {
      for (const [value, q] of segment.quantities.get(component.key) ?? []) {
        const sumOf = (lines: typeof actualLines) =>
          lines.filter((l) => l.componentKey === component.key && l.dimensionValue === value).reduce((s, l) => s.plus(l.amount), new Decimal(0));
        components.push({
          componentKey: component.key,
          dimensionValue: value,
          quantityToDate: q,
          projectedQuantity: projectedQuantities.get(component.key)!.get(value)!,
          amountToDate: sumOf(actualLines),
          projectedAmount: sumOf(projectedLines),
        });
      }
    }
  });
  return { amountToDate, projectedAmount, elapsedFraction, components };
}

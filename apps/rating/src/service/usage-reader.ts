import { pageSize, encodePageToken, decodePageToken, InvalidArgumentError, Violations, type ServiceDeps } from "@tally/platform";
import { Decimal, DecimalFormatError, isSupportedCurrency, parseDecimal, roundToMinorUnit } from "@tally/pricing";
import { subscriptionsOfCustomers, liveSubscriptions, type SubscriptionRow } from "../adapter/subscription-store";
import { listUnrated, periodSegments } from "../adapter/usage-store";
import { DECIMAL_VIOLATION_CODES, shareOf, billable, tierPosition, type PricerCache } from "@tally/plan-pricing";
import { SubscriptionNotFoundError } from "../domain/errors";
import { forecast, type ForecastDraft } from "../domain/forecast";
import { segmentLines, subtotalOf, type DimensionalPricerCache, type InvoiceLineDraft, type SegmentInput } from "../domain/invoice-lines";
import type { Period } from "../domain/periods";
import type { ComponentUsage } from "../domain/component-usage";
import { priceForValue, type RatePlan } from "../domain/rate-plan";
import { periodOf, segmentsIn, statusAt } from "../domain/subscription";
import type { AggregateState } from "../domain/usage-rating";
import type { PlanCatalog } from "./plan-catalog";

/** A customer's current period, its plan segments and the rated quantities of each. */
export interface CurrentPeriod {
  sub: SubscriptionRow;
  period: Period;
  segments: SegmentInput[];
  currency: string;
  now: Date;
}

/** Quote's input: quantities per component (and dimension value), as decimal strings. */
export interface QuoteQuery {
  planKey: string;
  /** 0 = the latest version. */
  planVersion: number;
  quantities: readonly { componentKey: string; dimensionValue: string; quantity: string }[];
}

export interface ListUnratedQuery {
  /** "" = every customer. */
  customerId: string;
  pageSize: number;
  pageToken: string;
}

/** The read side: what a customer owes so far, projections, quotes, unrated usage. */
export class UsageReader {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly catalog: PlanCatalog,
    private readonly pricers: PricerCache,
    private readonly dimensional: DimensionalPricerCache,
  ) {}

  async current(customerId: string): Promise<CurrentPeriod> {
    if (!customerId) throw new InvalidArgumentError({ field: "customer_id", message: "is required", code: "required" });
    const now = this.deps.clock.now();
    const subs = await subscriptionsOfCustomers(this.deps.pool, [customerId]);
    const sub = subs.find((s) => statusAt(s, now) === "active");
    if (!sub) throw new SubscriptionNotFoundError("active subscription of customer", customerId);
    return this.currentOf(sub, now);
  }

  /** The period of `sub` containing `at` (current or closed), priced like `preview` (Rating.PreviewPeriods). */
  async previewAt(sub: SubscriptionRow, at: Date): Promise<{ current: CurrentPeriod; lines: InvoiceLineDraft[]; subtotal: Decimal; total: Decimal }> {
    return this.priced(await this.currentOf(sub, at));
  }

  private async currentOf(sub: SubscriptionRow, now: Date): Promise<CurrentPeriod> {
    const period = periodOf(sub, now);
    const rows = await periodSegments(this.deps.pool, sub.id, period.start);
    const segments: SegmentInput[] = [];
    let currency = "";
    const ranges = segmentsIn(sub, period);
    for (const [n, seg] of ranges.entries()) {
      const plan = (await this.catalog.get(this.deps.pool, seg.planKey, seg.planVersion)).rate;
      currency = plan.currency;
      // An immediate change ends this segment where the next begins (a cancellation leaves no next).
      const changed = ranges[n + 1]?.start.getTime() === seg.end.getTime();
      const replaced = changed ? { charged: shareOf({ start: seg.start, end: period.end }, period), credited: shareOf({ start: seg.end, end: period.end }, period) } : undefined;
      segments.push({ plan, range: seg, share: shareOf(seg, period), quantities: quantitiesOf(rows, seg.start), replaced });
    }
    return { sub, period, segments, currency, now };
  }

  async currentUsage(customerId: string): Promise<{ current: CurrentPeriod; components: ComponentUsage[] }> {
    const current = await this.current(customerId);
    const components: ComponentUsage[] = [];
    for (const seg of current.segments) {
      for (const component of seg.plan.components) {
        const byValue = seg.quantities.get(component.key) ?? new Map<string, Decimal>();
        const entries: [string, Decimal][] =
          component.pricing.kind === "single" ? [["", byValue.get("") ?? new Decimal(0)]] : [...byValue.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
        for (const [value, quantity] of entries) {
          const price = priceForValue(component, value);
          if (!price) continue;
          components.push({
            componentKey: component.key,
            meterKey: component.meterKey,
            dimensionValue: value,
            quantity,
            billableQuantity: billable(price, quantity),
            position: tierPosition(this.pricers, price, quantity),
            amount: this.pricers.running(price, seg.share).amount(quantity),
            currency: seg.plan.currency,
            segment: seg.range!,
            planKey: seg.plan.key,
            planVersion: seg.plan.version,
          });
        }
      }
    }
    return { current, components };
  }

  async preview(customerId: string): Promise<{ current: CurrentPeriod; lines: InvoiceLineDraft[]; subtotal: Decimal; total: Decimal }> {
    return this.priced(await this.current(customerId));
  }

  private priced(current: CurrentPeriod) {
    const lines = current.segments.flatMap((s) => segmentLines(s, this.pricers, this.dimensional));
    const subtotal = subtotalOf(lines);
    return { current, lines, subtotal, total: roundToMinorUnit(subtotal, current.currency) };
  }

  async forecast(customerId: string): Promise<{ current: CurrentPeriod; forecast: ForecastDraft }> {
    const current = await this.current(customerId);
    return { current, forecast: forecast(current.segments, current.now, current.period.end, this.pricers, this.dimensional) };
  }

  async forecastRevenue(currency: string): Promise<{ amountToDate: Decimal; projectedAmount: Decimal; count: number; now: Date }> {
    if (!isSupportedCurrency(currency)) throw new InvalidArgumentError({ field: "currency", message: `must be a supported ISO 4217 code, got ${JSON.stringify(currency)}`, code: "invalid_value" });
    const now = this.deps.clock.now();
    let amountToDate = new Decimal(0);
    let projectedAmount = new Decimal(0);
    let count = 0;
    for (const sub of await liveSubscriptions(this.deps.pool, now)) {
      const first = sub.segments[0]!;
      if ((await this.catalog.get(this.deps.pool, first.planKey, first.planVersion)).rate.currency !== currency) continue;
      const c = await this.currentOf(sub, now);
      const f = forecast(c.segments, now, c.period.end, this.pricers, this.dimensional);
      amountToDate = amountToDate.plus(f.amountToDate);
      projectedAmount = projectedAmount.plus(f.projectedAmount);
      count++;
    }
    return { amountToDate, projectedAmount, count, now };
  }

  async quote(req: QuoteQuery): Promise<{ plan: RatePlan; lines: InvoiceLineDraft[]; subtotal: Decimal; total: Decimal }> {
    if (!req.planKey) throw new InvalidArgumentError({ field: "plan_key", message: "is required", code: "required" });
    const loaded = await this.catalog.get(this.deps.pool, req.planKey, req.planVersion);
    const plan = loaded.rate;
    const v = new Violations();
    const quantities = new Map<string, Map<string, Decimal>>();
    req.quantities.forEach((q, i) => {
      const at = `quantities[${i}]`;
      let quantity: Decimal | undefined;
      try {
        quantity = parseDecimal(q.quantity, `${at}.quantity`, { nonNegative: true });
      } catch (err) {
        if (!(err instanceof DecimalFormatError)) throw err;
        v.add(`${at}.quantity`, err.message.replace(`${at}.quantity: `, ""), DECIMAL_VIOLATION_CODES[err.code]);
      }
      const component = plan.components.find((c) => c.key === q.componentKey);
      if (!component) {
        v.add(`${at}.component_key`, `plan ${plan.key} v${plan.version} has no component ${JSON.stringify(q.componentKey)}`, "unknown_reference");
        return;
      }
      if (component.pricing.kind === "dimensional" && !q.dimensionValue) v.add(`${at}.dimension_value`, `is required for dimensional component ${component.key}`, "required");
      if (component.pricing.kind === "single" && q.dimensionValue) v.add(`${at}.dimension_value`, `must be empty: component ${component.key} is not dimensional`, "not_allowed");
      if (component.pricing.kind === "dimensional" && q.dimensionValue && !priceForValue(component, q.dimensionValue)) {
        v.add(`${at}.dimension_value`, `component ${component.key} has no price for ${JSON.stringify(q.dimensionValue)} and no default price`, "unknown_reference");
      }
      const byValue = quantities.get(component.key) ?? new Map<string, Decimal>();
      if (byValue.has(q.dimensionValue)) v.add(at, `repeats (${q.componentKey}, ${JSON.stringify(q.dimensionValue)})`, "duplicate");
      if (quantity) byValue.set(q.dimensionValue, quantity);
      quantities.set(component.key, byValue);
    });
    v.throwIfAny();
    const lines = segmentLines({ plan, share: new Decimal(1), quantities }, this.pricers, this.dimensional);
    const subtotal = subtotalOf(lines);
    return { plan, lines, subtotal, total: roundToMinorUnit(subtotal, plan.currency) };
  }

  async listUnrated(req: ListUnratedQuery) {
    const limit = pageSize(req.pageSize);
    const cursor = decodePageToken(req.pageToken, ["seq"]);
    const rows = await listUnrated(this.deps.pool, req.customerId, cursor?.seq ?? "0", limit + 1);
    const page = rows.slice(0, limit);
    return { rows: page, nextPageToken: rows.length > limit ? encodePageToken({ seq: page[page.length - 1]!.seq }) : "" };
  }
}

function quantitiesOf(rows: AggregateState[], segmentStart: Date): Map<string, Map<string, Decimal>> {
  const out = new Map<string, Map<string, Decimal>>();
  for (const r of rows) {
    if (r.key.segmentStart.getTime() !== segmentStart.getTime()) continue;
    const byValue = out.get(r.key.componentKey) ?? new Map<string, Decimal>();
    byValue.set(r.key.dimensionValue, r.quantity);
    out.set(r.key.componentKey, byValue);
  }
  return out;
}

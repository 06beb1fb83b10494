import { pageSize, encodePageToken, decodePageToken, InvalidArgumentError, Violations, type ServiceDeps } from "@tally/platform";
import { Decimal, DecimalFormatError, parseDecimal, roundToMinorUnit } from "@tally/pricing";
import { subscriptionsOfCustomers, type SubscriptionRow } from "../adapter/subscription-store";
import { listUnrated, periodSegments } from "../adapter/usage-store";
import { DECIMAL_VIOLATION_CODES, billable, tierPosition, type PricerCache } from "@tally/plan-pricing";
import { SubscriptionNotFoundError } from "../domain/errors";
import { segmentLines, subtotalOf, type DimensionalPricerCache, type InvoiceLineDraft, type SegmentInput } from "../domain/invoice-lines";
import type { Period } from "../domain/periods";
import type { ComponentUsage } from "../domain/component-usage";
import { priceForValue, type RatePlan } from "../domain/rate-plan";
import { periodSegmentInputs } from "../domain/period-segments";
import { nominalPeriodOf, periodOf, segmentsIn, statusAt } from "../domain/subscription";
import type { PlanCatalog } from "./plan-catalog";

/** A customer's current period, its plan segments and the rated quantities of each. */
export interface CurrentPeriod {
  sub: SubscriptionRow;
  period: Period;
  /** The whole interval `period` belongs to: segment shares are of its length (nominalPeriodOf). */
  nominal: Period;
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
    for (const seg of segmentsIn(sub, period)) await this.catalog.get(this.deps.pool, seg.planKey, seg.planVersion);
    const segments = periodSegmentInputs(sub, period, rows, (key, version) => this.catalog.cached(key, version)!.rate);
    return { sub, period, nominal: nominalPeriodOf(sub, period), segments, currency: segments[segments.length - 1]!.plan.currency, now };
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

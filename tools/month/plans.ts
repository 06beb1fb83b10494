import { create } from "@bufbuild/protobuf";
import { rating } from "@tally/contracts";
import { Decimal, type DimensionalPrice, type Price, type PriceModel } from "@tally/pricing";

/**
 * The month's price book, written once as plain specs and turned two ways: into the proto plans
 * sent to rating, and — independently of rating's own mapping (@tally/plan-pricing) — into
 * @tally/pricing prices the harness recomputes invoices with.
 */
export type ModelSpec =
  | { kind: "per_unit"; unit: string }
  | { kind: "graduated" | "volume"; tiers: [upTo: string | null, unit: string, flat: string][] }
  | { kind: "package"; size: string; amount: string };

export interface ComponentSpec {
  model: ModelSpec;
  includedUnits?: string;
  minimum?: string;
  maximum?: string;
}

export interface PlanSpec {
  /** Family, e.g. "graduated"; the plan key is `<family>_<currency>`. */
  family: PlanFamily;
  currency: Currency;
  fee?: string;
  /** Priced on the whole meter, or per model (dimensional). */
  pricing: { kind: "single"; price: ComponentSpec } | { kind: "dimensional"; prices: Record<string, ComponentSpec>; defaultPrice: ComponentSpec };
}

export const CURRENCIES = ["USD", "EUR", "JPY"] as const;
export type Currency = (typeof CURRENCIES)[number];
export const FAMILIES = ["graduated", "volume", "package", "flat_usage", "dimensional", "prepaid"] as const;
export type PlanFamily = (typeof FAMILIES)[number];
export const METER = { key: "tokens", eventType: "llm", valueProperty: "tokens", dimension: "model" } as const;
export const MODELS = ["small", "large", "vision"] as const;

/** JPY has no minor unit: its prices are 100× the dollar ones, so amounts stay comparable. */
function scaled(currency: Currency, amount: string): string {
  return currency === "JPY" ? new Decimal(amount).times(100).toFixed() : amount;
}

export function planKey(family: PlanFamily, currency: Currency): string {
  return `${family}_${currency.toLowerCase()}`;
}

export function priceBook(): PlanSpec[] {
  const specs: PlanSpec[] = [];
  for (const currency of CURRENCIES) {
    const m = (a: string) => scaled(currency, a);
    specs.push(
      { family: "graduated", currency, pricing: { kind: "single", price: { model: { kind: "graduated", tiers: [["100000", m("0.00002"), "0"], ["1000000", m("0.000015"), m("1")], [null, m("0.00001"), "0"]] } } } },
      { family: "volume", currency, pricing: { kind: "single", price: { model: { kind: "volume", tiers: [["200000", m("0.00003"), "0"], [null, m("0.00002"), m("2")]] }, minimum: m("5") } } },
      { family: "package", currency, pricing: { kind: "single", price: { model: { kind: "package", size: "10000", amount: m("0.25") } } } },
      { family: "flat_usage", currency, fee: m("49"), pricing: { kind: "single", price: { model: { kind: "per_unit", unit: m("0.000012") }, includedUnits: "500000" } } },
      {
        family: "dimensional",
        currency,
        fee: m("10"),
        pricing: {
          kind: "dimensional",
          prices: {
            small: { model: { kind: "per_unit", unit: m("0.000004") } },
            large: { model: { kind: "graduated", tiers: [["250000", m("0.00006"), "0"], [null, m("0.00004"), "0"]] }, maximum: m("400") },
          },
          defaultPrice: { model: { kind: "per_unit", unit: m("0.00003") } },
        },
      },
      // Prepaid: customers on it hold credit grants in limits that invoicing applies.
      { family: "prepaid", currency, fee: m("20"), pricing: { kind: "single", price: { model: { kind: "per_unit", unit: m("0.00002") } } } },
    );
  }
  return specs;
}

// --- proto (what rating is told) ---

function modelToProto(s: ModelSpec): rating.Price["model"] {
  switch (s.kind) {
    case "per_unit":
      return { case: "perUnit", value: { $typeName: "tally.rating.v1.PerUnitModel", unitAmount: s.unit } };
    case "graduated":
    case "volume":
      return {
        case: s.kind,
        value: { $typeName: "tally.rating.v1.TieredModel", tiers: s.tiers.map(([upTo, unit, flat]) => ({ $typeName: "tally.rating.v1.Tier" as const, upTo: upTo ?? "", unitAmount: unit, flatAmount: flat })) },
      };
    case "package":
      return { case: "package", value: { $typeName: "tally.rating.v1.PackageModel", packageSize: s.size, packageAmount: s.amount } };
  }
}

function priceToProto(c: ComponentSpec): rating.Price {
  return { $typeName: "tally.rating.v1.Price", model: modelToProto(c.model), includedUnits: c.includedUnits ?? "", minimum: c.minimum ?? "", maximum: c.maximum ?? "" };
}

export function planToProto(p: PlanSpec): rating.Plan {
  const key = planKey(p.family, p.currency);
  const pricing: rating.PriceComponent["pricing"] =
    p.pricing.kind === "single"
      ? { case: "price", value: priceToProto(p.pricing.price) }
      : {
          case: "dimensionalPrice",
          value: {
            $typeName: "tally.rating.v1.DimensionalPrice",
            dimension: METER.dimension,
            prices: Object.fromEntries(Object.entries(p.pricing.prices).map(([k, v]) => [k, priceToProto(v)])),
            defaultPrice: priceToProto(p.pricing.defaultPrice),
            minimum: "",
            maximum: "",
          },
        };
  return create(rating.PlanSchema, {
    key,
    name: key,
    currency: p.currency,
    billingInterval: rating.BillingInterval.MONTH,
    ...(p.fee && { recurringFee: { $typeName: "tally.rating.v1.RecurringFee", amount: p.fee, timing: rating.FeeTiming.IN_ARREARS } }),
    components: [{ key: "tokens", meterKey: METER.key, displayName: "Tokens", pricing }],
  });
}

// --- @tally/pricing (what the harness recomputes with) ---

const d = (s: string) => new Decimal(s);

function modelToPricing(s: ModelSpec): PriceModel {
  switch (s.kind) {
    case "per_unit":
      return { kind: "per_unit", unitAmount: d(s.unit) };
    case "graduated":
    case "volume":
      return { kind: s.kind, tiers: s.tiers.map(([upTo, unit, flat]) => ({ upTo: upTo === null ? null : d(upTo), unitAmount: d(unit), flatAmount: d(flat) })) };
    case "package":
      return { kind: "package", packageSize: d(s.size), packageAmount: d(s.amount) };
  }
}

/** The component's price for a segment holding `share` of the period (commitments prorated). */
export function priceForShare(c: ComponentSpec, share: Decimal): Price {
  const prorate = (x: string | undefined) => (x === undefined ? undefined : share.eq(1) ? d(x) : d(x).times(share).toDecimalPlaces(12, Decimal.ROUND_HALF_EVEN));
  return {
    model: modelToPricing(c.model),
    ...(c.includedUnits && { includedUnits: d(c.includedUnits) }),
    ...(c.minimum && { minimum: prorate(c.minimum) }),
    ...(c.maximum && { maximum: prorate(c.maximum) }),
  };
}

export function dimensionalForShare(p: Extract<PlanSpec["pricing"], { kind: "dimensional" }>, share: Decimal): DimensionalPrice {
  return {
    dimension: METER.dimension,
    prices: Object.fromEntries(Object.entries(p.prices).map(([k, v]) => [k, priceForShare(v, share)])),
    defaultPrice: priceForShare(p.defaultPrice, share),
  };
}

import { type rating } from "@tally/contracts";

/** One-line summary of a component's pricing, e.g. "graduated, 3 tiers" or "per unit 0.002". */
export function describePricing(component: rating.PriceComponent): string {
  const p = component.pricing;
  switch (p.case) {
    case "price":
      return describePrice(p.value);
    case "dimensionalPrice":
      return `by ${p.value.dimension}: ${Object.entries(p.value.prices)
        .map(([value, price]) => `${value} ${describePrice(price)}`)
        .join("; ")}${p.value.defaultPrice ? `; other ${describePrice(p.value.defaultPrice)}` : ""}`;
    case undefined:
      return "";
  }
}

function describePrice(price: rating.Price): string {
  const m = price.model;
  const extras = [price.includedUnits && `${price.includedUnits} included`, price.minimum && `min ${price.minimum}`, price.maximum && `max ${price.maximum}`].filter(Boolean);
  const base = (() => {
    switch (m.case) {
      case "perUnit":
        return `per unit ${m.value.unitAmount}`;
      case "graduated":
      case "volume":
        return `${m.case}, ${m.value.tiers.length} tiers`;
      case "package":
        return `${m.value.packageAmount} per ${m.value.packageSize}`;
      case "flatFee":
        return `flat ${m.value.amount}`;
      case "percentage":
        return `${m.value.rate} of value`;
      case undefined:
        return "no model";
    }
  })();
  return extras.length > 0 ? `${base} (${extras.join(", ")})` : base;
}

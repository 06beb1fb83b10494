import { Decimal } from "@tally/pricing";
import { PlanPricing, type StoredPlan } from "./plan-pricing";

const d = (s: string) => new Decimal(s);
const none = { includedUnits: "", minimum: "", maximum: "" };
const plan: StoredPlan = {
  key: "pro",
  version: 1,
  currency: "USD",
  components: [
    {
      key: "calls",
      meterKey: "calls",
      price: { ...none, includedUnits: "10", model: { kind: "graduated", tiers: [{ upTo: "100", unitAmount: "1", flatAmount: "" }, { upTo: "", unitAmount: "0.5", flatAmount: "" }] } },
    },
    {
      key: "tokens",
      meterKey: "tokens",
      dimensional: { prices: { small: { ...none, model: { kind: "per_unit", unitAmount: "0.001" } }, large: { ...none, model: { kind: "per_unit", unitAmount: "0.01" } } } },
    },
  ],
};

describe("PlanPricing.marginalCost", () => {
  const pricing = new PlanPricing();
  const q = (entries: [string, [string, string][]][]) => new Map(entries.map(([c, vs]) => [c, new Map(vs.map(([v, n]) => [v, d(n)]))]));

  it("prices the next units from the current quantity, tiers and included units respected", () => {
    // at 105 (95 billable): 5 more in tier 1 at 1 + 5 in tier 2 at 0.5 = 7.5
    expect(pricing.marginalCost(plan, "calls", q([["calls", [["", "105"]]]]), d("10")).toFixed()).toBe("7.5");
    // at 0: the first 10 are included, 5 more at 1 = 5
    expect(pricing.marginalCost(plan, "calls", new Map(), d("15")).toFixed()).toBe("5");
  });

  it("takes the most expensive dimension value when the check names none", () => {
    expect(pricing.marginalCost(plan, "tokens", new Map(), d("100")).toFixed()).toBe("1"); // 100 × 0.01
  });

  it("costs nothing for a meter the plan does not price", () => {
    expect(pricing.marginalCost(plan, "images", new Map(), d("100")).toFixed()).toBe("0");
  });
});

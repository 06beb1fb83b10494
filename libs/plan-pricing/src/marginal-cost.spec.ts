import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { rating } from "@tally/contracts";
import { Decimal } from "@tally/pricing";
import { marginalCost } from "./marginal-cost";
import { PricerCache } from "./pricer-cache";
import { planPricingFromProto } from "./price-from-proto";

const d = (s: string) => new Decimal(s);
type PriceInit = MessageInitShape<typeof rating.PriceSchema>;
const price = (model: PriceInit["model"], extra: { includedUnits?: string; maximum?: string } = {}): PriceInit => ({ model, ...extra });
const components = planPricingFromProto([
  create(rating.PriceComponentSchema, {
    key: "calls",
    meterKey: "calls",
    pricing: {
      case: "price",
      value: price(
        { case: "graduated", value: { tiers: [{ upTo: "100", unitAmount: "1" }, { unitAmount: "0.5" }] } },
        { includedUnits: "10" },
      ),
    },
  }),
  create(rating.PriceComponentSchema, {
    key: "tokens",
    meterKey: "tokens",
    pricing: {
      case: "dimensionalPrice",
      value: {
        dimension: "model",
        prices: {
          small: price({ case: "perUnit", value: { unitAmount: "0.001" } }),
          large: price({ case: "perUnit", value: { unitAmount: "0.01" } }),
        },
      },
    },
  }),
  create(rating.PriceComponentSchema, {
    key: "markup",
    meterKey: "cost",
    pricing: { case: "price", value: price({ case: "percentage", value: { rate: "1.3" } }, { maximum: "200" }) },
  }),
]);
const q = (entries: [string, [string, string][]][]) => new Map(entries.map(([c, vs]) => [c, new Map(vs.map(([v, n]) => [v, d(n)]))]));

describe("marginalCost", () => {
  const pricers = new PricerCache();
  const cost = (meter: string, quantities: ReturnType<typeof q>, quantity: string) => marginalCost(pricers, components, meter, quantities, d(quantity)).toFixed();

  it("prices the next units from the current quantity, tiers and included units respected", () => {
    // at 105 (95 billable): 5 more in tier 1 at 1 + 5 in tier 2 at 0.5 = 7.5
    expect(cost("calls", q([["calls", [["", "105"]]]]), "10")).toBe("7.5");
    // at 0: the first 10 are included, 5 more at 1 = 5
    expect(cost("calls", new Map(), "15")).toBe("5");
  });

  it("takes the most expensive dimension value when the check names none", () => {
    expect(cost("tokens", new Map(), "100")).toBe("1"); // 100 × 0.01
  });

  it("reads a percentage rate as a multiplier, as rating does, and stops at the maximum", () => {
    expect(cost("cost", new Map(), "100")).toBe("130"); // 100 × 1.3
    // at 120 (156 so far) 50 more would be 221, capped at 200: 44
    expect(cost("cost", q([["markup", [["", "120"]]]]), "50")).toBe("44");
  });

  it("costs nothing for a meter the plan does not price", () => {
    expect(cost("images", new Map(), "100")).toBe("0");
  });
});

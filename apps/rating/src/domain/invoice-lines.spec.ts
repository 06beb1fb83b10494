import { create } from "@bufbuild/protobuf";
import { rating } from "@tally/contracts";
import { Decimal } from "@tally/pricing";
import { PricerCache } from "@tally/plan-pricing";
import { DimensionalPricerCache, segmentLines, subtotalOf } from "./invoice-lines";
import { planDraftFromProto } from "../adapter/plan-mapping";
import { buildRatePlan } from "./plan-validation";
import type { RatePlan } from "./rate-plan";

const plan: RatePlan = {
  ...buildRatePlan(
    planDraftFromProto(create(rating.PlanSchema, {
      key: "p",
      name: "Pro",
      currency: "USD",
      billingInterval: rating.BillingInterval.MONTH,
      recurringFee: { amount: "20", timing: rating.FeeTiming.IN_ADVANCE },
      components: [
        {
          key: "tok",
          meterKey: "tokens",
          displayName: "Tokens",
          pricing: {
            case: "dimensionalPrice",
            value: {
              dimension: "model",
              prices: { big: { model: { case: "perUnit", value: { unitAmount: "0.01" } }, minimum: "3" } },
              defaultPrice: { model: { case: "flatFee", value: { amount: "5" } } },
              maximum: "8",
            },
          },
        },
      ],
    })),
    (k) => (k === "tokens" ? { key: k, aggregation: "sum", groupBy: ["model"], active: true } : undefined),
  ),
  version: 1,
};

const pricers = new PricerCache();
const dims = new DimensionalPricerCache();
const q = (entries: [string, string][]) => new Map([["tok", new Map(entries.map(([k, v]) => [k, new Decimal(v)]))]]);

describe("invoice lines", () => {
  it("an in-advance fee replaced on day 10 of 30: whole fee, credit for the unused part; in arrears: prorated", () => {
    const range = { start: new Date("2026-11-01T00:00:00Z"), end: new Date("2026-11-11T00:00:00Z") };
    const replaced = { charged: new Decimal(1), credited: new Decimal(20).div(30) };
    const fees = (p: RatePlan) => segmentLines({ plan: p, range, share: new Decimal(10).div(30), quantities: q([]), replaced }, pricers, dims).filter((l) => l.kind === "recurring_fee");
    expect(fees(plan).map((l) => [l.ref.split("/")[1], l.quantity.toDecimalPlaces(4).toFixed(), l.amount.toDecimalPlaces(6).toFixed()])).toEqual([
      ["fee", "1", "20"],
      ["fee-credit", "-0.6667", "-13.333333"],
    ]);
    const arrears: RatePlan = { ...plan, recurringFee: { amount: new Decimal(20), timing: "in_arrears" } };
    expect(fees(arrears).map((l) => [l.ref.split("/")[1], l.amount.toDecimalPlaces(6).toFixed()])).toEqual([["fee", "6.666667"]]);
  });

  it("explains fee, per-value usage, per-value minimum and the component maximum; lines add up", () => {
    const range = { start: new Date("2026-04-01T00:00:00Z"), end: new Date("2026-05-01T00:00:00Z") };
    const lines = segmentLines({ plan, range, share: new Decimal(1), quantities: q([["big", "100"], ["small", "7"]]) }, pricers, dims);
    expect(lines.map((l) => [l.kind, l.dimensionValue, l.amount.toFixed()])).toEqual([
      ["recurring_fee", "", "20"],
      ["usage", "big", "1"], // 100 × 0.01
      ["minimum_true_up", "big", "2"], // up to the minimum of 3
      ["usage", "small", "5"], // flat fee once there is usage; 3 + 5 = 8 is within the maximum of 8
    ]);
    expect(subtotalOf(lines).toFixed()).toBe("28");
  });

  it("prorates the fee and commitments by the segment's share", () => {
    const range = { start: new Date("2026-04-16T00:00:00Z"), end: new Date("2026-05-01T00:00:00Z") };
    const lines = segmentLines({ plan, range, share: new Decimal("0.5"), quantities: q([["big", "100"], ["small", "1"]]) }, pricers, dims);
    // fee 10; big: 1 + true-up to 1.5; small: 5; 1.5 + 5 = 6.5 > maximum 4 → −2.5
    expect(lines.map((l) => [l.kind, l.amount.toFixed()])).toEqual([
      ["recurring_fee", "10"],
      ["usage", "1"],
      ["minimum_true_up", "0.5"],
      ["usage", "5"],
      ["maximum_adjustment", "-2.5"],
    ]);
  });
});

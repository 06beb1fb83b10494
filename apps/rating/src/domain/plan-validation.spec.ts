import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { rating } from "@tally/contracts";
import { InvalidArgumentError } from "@tally/platform";
import { planDraftFromProto } from "../adapter/plan-mapping";
import { buildRatePlan } from "./plan-validation";
import type { MeterInfo } from "./rate-plan";

const meters: Record<string, MeterInfo> = {
  tokens: { key: "tokens", aggregation: "sum", groupBy: ["model"], active: true },
  old: { key: "old", aggregation: "sum", groupBy: [], active: false },
};

function violations(plan: MessageInitShape<typeof rating.PlanSchema>): string[] {
  return codedViolations(plan).map((v) => v.split(" ")[0]!);
}

/** "field code" of each violation: the codes are a contract, clients branch on them. */
function codedViolations(plan: MessageInitShape<typeof rating.PlanSchema>): string[] {
  try {
    buildRatePlan(planDraftFromProto(create(rating.PlanSchema, plan)), (k) => meters[k]);
  } catch (err) {
    if (err instanceof InvalidArgumentError) return err.violations.map((v) => `${v.field} ${v.code}`);
    throw err;
  }
  return [];
}

const base = { key: "pro", name: "Pro", currency: "USD", billingInterval: rating.BillingInterval.MONTH };
const component = (price: MessageInitShape<typeof rating.PriceSchema>, meterKey = "tokens"): MessageInitShape<typeof rating.PriceComponentSchema> => ({
  key: "tok",
  meterKey,
  displayName: "Tokens",
  pricing: { case: "price" as const, value: price },
});

describe("plan validation", () => {
  it("accepts a valid plan and maps models to the pricing library", () => {
    const plan = buildRatePlan(
      planDraftFromProto(
        create(rating.PlanSchema, {
          ...base,
          recurringFee: { amount: "49", timing: rating.FeeTiming.IN_ARREARS },
          components: [component({ model: { case: "percentage", value: { rate: "2.5" } }, includedUnits: "100", maximum: "10" })],
        }),
      ),
      (k) => meters[k],
    );
    const c = plan.components[0]!;
    expect(c.pricing.kind === "single" && c.pricing.price.price.model).toMatchObject({ kind: "percentage" });
    expect(c.pricing.kind === "single" && (c.pricing.price.price.model as { rate: { toFixed(): string } }).rate.toFixed()).toBe("2.5");
    expect(plan.recurringFee?.timing).toBe("in_arrears");
  });

  it.each([
    ["unordered tiers", { model: { case: "volume", value: { tiers: [{ upTo: "10", unitAmount: "1" }, { upTo: "5", unitAmount: "1" }, { unitAmount: "1" }] } } }, "plan.components[0].price.volume.tiers[1].up_to"],
    ["last tier not open", { model: { case: "graduated", value: { tiers: [{ upTo: "10", unitAmount: "1" }] } } }, "plan.components[0].price.graduated.tiers[0].up_to"],
    ["tier without amounts", { model: { case: "graduated", value: { tiers: [{ upTo: "10" }, { unitAmount: "1" }] } } }, "plan.components[0].price.graduated.tiers[0]"],
    ["zero package size", { model: { case: "package", value: { packageSize: "0", packageAmount: "1" } } }, "plan.components[0].price.package.package_size"],
    ["negative unit amount", { model: { case: "perUnit", value: { unitAmount: "-1" } } }, "plan.components[0].price.per_unit.unit_amount"],
    ["minimum above maximum", { model: { case: "perUnit", value: { unitAmount: "1" } }, minimum: "10", maximum: "5" }, "plan.components[0].price.maximum"],
    ["too many decimals", { model: { case: "flatFee", value: { amount: "0.0000000000001" } } }, "plan.components[0].price.flat_fee.amount"],
    ["negative rate", { model: { case: "percentage", value: { rate: "-0.5" } } }, "plan.components[0].price.percentage.rate"],
    ["no model", {}, "plan.components[0].price.model"],
  ] as const)("rejects %s at %s", (_name, price, field) => {
    expect(violations({ ...base, components: [component(price as never)] })).toContain(field);
  });

  it("rejects archived meters, bad keys, duplicate components and plan-level fields all at once", () => {
    const fields = violations({
      key: "Pro!",
      name: "",
      currency: "XXX1",
      billingInterval: rating.BillingInterval.UNSPECIFIED,
      components: [component({ model: { case: "perUnit", value: { unitAmount: "1" } } }, "old"), component({ model: { case: "perUnit", value: { unitAmount: "1" } } })],
    });
    expect(fields).toEqual(
      expect.arrayContaining(["plan.key", "plan.name", "plan.currency", "plan.billing_interval", "plan.components[0].meter_key", "plan.components[1].key"]),
    );
  });

  it("gives each rule its own stable code", () => {
    const perUnit = (unitAmount: string) => ({ model: { case: "perUnit" as const, value: { unitAmount } } });
    expect(
      codedViolations({
        key: "Pro!",
        name: "",
        currency: "XXX1",
        billingInterval: rating.BillingInterval.UNSPECIFIED,
        recurringFee: { amount: "0", timing: rating.FeeTiming.UNSPECIFIED },
        components: [
          component(perUnit("1"), "old"),
          component(perUnit("-1"), "nope"),
          { key: "seat", meterKey: "", displayName: "Seats", pricing: { case: "price", value: perUnit("0.0000000000001") } },
          { key: "model", meterKey: "tokens", displayName: "By model", pricing: { case: "dimensionalPrice", value: { dimension: "region", prices: {} } } },
        ],
      }),
    ).toEqual([
      "plan.key invalid_pattern",
      "plan.name invalid_length",
      "plan.currency invalid_value",
      "plan.billing_interval required",
      "plan.recurring_fee.amount out_of_range",
      "plan.recurring_fee.timing required",
      "plan.components[0].meter_key archived_reference",
      "plan.components[1].key duplicate",
      "plan.components[1].meter_key unknown_reference",
      "plan.components[1].price.per_unit.unit_amount negative",
      "plan.components[2].meter_key required",
      "plan.components[2].price.per_unit.unit_amount too_many_decimal_places",
      "plan.components[3].dimensional_price.dimension not_allowed",
      "plan.components[3].dimensional_price.prices required",
    ]);
  });
});

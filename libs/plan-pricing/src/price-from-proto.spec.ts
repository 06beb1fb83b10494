import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { rating } from "@tally/contracts";
import { InvalidArgumentError } from "@tally/platform/errors";
import { planPricingFromProto } from "./price-from-proto";

const component = (pricing: MessageInitShape<typeof rating.PriceComponentSchema>["pricing"]) => create(rating.PriceComponentSchema, { key: "c", meterKey: "m", pricing });

describe("planPricingFromProto", () => {
  it("maps a plan's FLAT_FEE to a charge that applies only once there is usage", () => {
    const [c] = planPricingFromProto([component({ case: "price", value: { model: { case: "flatFee", value: { amount: "5" } } } })]);
    expect(c?.pricing).toMatchObject({ kind: "single", price: { modelKind: "flat_fee", price: { model: { kind: "graduated" } } } });
  });

  it("refuses an unreadable price with every violation named, never pricing it at 0", () => {
    const bad = [
      component({ case: "price", value: { model: { case: "perUnit", value: { unitAmount: "1e3" } } } }),
      component({ case: "price", value: {} }),
      component({ case: undefined }),
    ];
    let caught: unknown;
    try {
      planPricingFromProto(bad);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidArgumentError);
    expect((caught as InvalidArgumentError).reason).toBe("invalid_price");
    expect((caught as InvalidArgumentError).violations.map((v) => v.field)).toEqual([
      "plan.components[0].price.per_unit.unit_amount",
      "plan.components[1].price.model",
      "plan.components[2].pricing",
    ]);
  });
});

import { Decimal } from "@tally/pricing";
import { limitsApplyingTo, resolveEffectiveLimits } from "./limit-resolution";
import type { Limit } from "./types";

const limit = (id: string, over: Partial<Limit>): Limit => ({
  id,
  scope: { planKey: "pro" },
  meterKey: "tokens",
  kind: "hard_cap",
  measure: "units",
  value: new Decimal(100),
  currency: "",
  alerts: [],
  ...over,
});

describe("resolveEffectiveLimits", () => {
  it("a customer override beats the plan default for the same meter, measure and kind only", () => {
    const all = [
      limit("plan-cap", {}),
      limit("plan-soft", { kind: "soft_limit" }),
      limit("cust-cap", { scope: { customerId: "c1" }, value: new Decimal(500) }),
      limit("plan-spend", { measure: "spend", meterKey: "", currency: "USD" }),
      limit("plan-images", { meterKey: "images" }),
    ];
    expect(resolveEffectiveLimits(all).map((l) => l.id)).toEqual(["plan-spend", "plan-images", "cust-cap", "plan-soft"]);
  });

  it("applies UNITS and SPEND limits of the meter and total SPEND limits to a check", () => {
    const all = [limit("u", {}), limit("s", { measure: "spend", currency: "USD" }), limit("t", { measure: "spend", meterKey: "", currency: "USD" }), limit("o", { meterKey: "images" })];
    expect(limitsApplyingTo(all, "tokens").map((l) => l.id)).toEqual(["u", "s", "t"]);
  });
});

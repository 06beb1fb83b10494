import { Decimal } from "@tally/pricing";
import { reachedThresholds, thresholdKey } from "./alert-evaluation";
import type { Limit } from "./types";

const d = (s: string) => new Decimal(s);
const limit: Limit = {
  id: "lim_1",
  scope: { planKey: "pro" },
  meterKey: "tokens",
  kind: "soft_limit",
  measure: "units",
  value: d("1000"),
  currency: "",
  alerts: [{ percent: d("50") }, { percent: d("80") }, { absolute: d("900") }, { percent: d("120") }],
};

describe("reachedThresholds", () => {
  it.each([
    ["499.999", []],
    ["500", ["percent:50"]], // 50% of 1000 = 500, reached at >=
    ["850", ["percent:50", "percent:80"]],
    ["900", ["percent:50", "percent:80", "absolute:900"]],
    ["1200", ["percent:50", "percent:80", "absolute:900", "percent:120"]],
  ])("observed %s reaches %j", (observed, keys) => {
    expect(reachedThresholds(limit, d(observed)).map((t) => t.thresholdKey)).toEqual(keys);
  });

  it("resolves percentages to the limit's measure and keys them canonically", () => {
    expect(reachedThresholds(limit, d("800"))[1]!.thresholdValue.toFixed()).toBe("800");
    expect(thresholdKey({ percent: d("80.0") })).toBe("percent:80");
  });
});

import { limitPosition, spendOf } from "./limit-position";
import type { ComponentUsageRecord, LimitRecord } from "./records";

const limit = (over: Partial<LimitRecord> = {}): LimitRecord => ({ id: "lim_1", meterKey: "tokens", kind: "hard_cap", measure: "units", value: "5000", currency: "", ...over });

test.each([
  ["750", 0.15, "ok"],
  ["4000", 0.8, "near"], // 80% is near
  ["5000", 1, "reached"],
  ["6000", 1.2, "reached"], // soft limits can be passed
])("%s of 5,000 → %s (%s)", (used, ratio, state) => {
  expect(limitPosition(limit(), used)).toMatchObject({ usage: used, ratio, state });
});

test("spend counts the components of the limit's meter, or all of them without one", () => {
  const c = (meterKey: string, amount: string) => ({ meterKey, amount }) as ComponentUsageRecord;
  const components = [c("tokens", "1.25"), c("tokens", "0.000000000001"), c("images", "3")];
  expect(spendOf(components, "tokens")).toBe("1.250000000001");
  expect(spendOf(components, "")).toBe("4.250000000001");
});

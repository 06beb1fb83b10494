import type { ComponentUsageRecord } from "./records";
import { tierProgress } from "./tier-progress";

const usage = (over: Partial<ComponentUsageRecord>): ComponentUsageRecord => ({
  componentKey: "tokens",
  meterKey: "tokens",
  dimensionValue: "",
  planKey: "pro",
  planVersion: 1,
  quantity: "0",
  billableQuantity: "0",
  tierIndex: 0,
  tierLowerBound: "0",
  tierUpperBound: "1000",
  unitsToNextTier: "1000",
  amount: "0",
  currency: "USD",
  ...over,
});

test.each([
  ["first tier, 250 of 0–1,000", { billableQuantity: "250" }, 0.25], // (250 − 0) ÷ 1000
  ["second tier, 1,150 of 1,000–10,000", { billableQuantity: "1150", tierLowerBound: "1000", tierUpperBound: "10000" }, 150 / 9000],
  ["exactly at the threshold", { billableQuantity: "1000" }, 1],
  ["included units keep billable at 0", { quantity: "500", billableQuantity: "0" }, 0],
])("%s", (_name, over, expected) => {
  expect(tierProgress(usage(over))).toBeCloseTo(expected, 12);
});

test("an open-ended tier has no next threshold", () => {
  expect(tierProgress(usage({ billableQuantity: "20000", tierLowerBound: "10000", tierUpperBound: "" }))).toBeNull();
});

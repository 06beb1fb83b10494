import { validateMeter, type MeterInput } from "./meter-validation";

function input(overrides: Partial<MeterInput> = {}): MeterInput {
  return {
    key: "llm_tokens",
    eventType: "llm.completion",
    aggregation: "sum",
    valueProperty: "tokens",
    groupBy: ["model"],
    filters: [],
    allowNegative: false,
    description: "Tokens per model",
    ...overrides,
  };
}

function problems(overrides: Partial<MeterInput>): string[] {
  const result = validateMeter(input(overrides));
  return result.ok ? [] : result.violations.map((v) => `${v.field} ${v.code}`);
}

describe("validateMeter", () => {
  it("accepts a valid meter and normalizes its filters", () => {
    const result = validateMeter(
      input({ filters: [{ property: "region", values: ["us", "eu", "us"] }, { property: "env", values: ["prod"] }] }),
    );
    expect(result.ok && result.spec.filters).toEqual([
      { property: "env", values: ["prod"] },
      { property: "region", values: ["eu", "us"] },
    ]);
  });

  it.each<[string, Partial<MeterInput>, string[]]>([
    ["an empty key", { key: "" }, ["meter.key required"]],
    ["a key with upper case", { key: "LLM" }, ["meter.key invalid_pattern"]],
    ["a key starting with a digit", { key: "1tokens" }, ["meter.key invalid_pattern"]],
    ["a 64-character key", { key: "k" + "x".repeat(63) }, ["meter.key invalid_pattern"]],
    ["an empty event type", { eventType: "" }, ["meter.event_type required"]],
    ["a 256-character event type", { eventType: "e".repeat(256) }, ["meter.event_type too_long"]],
    ["no aggregation", { aggregation: undefined }, ["meter.aggregation required"]],
    ["SUM without value property", { valueProperty: "" }, ["meter.value_property required"]],
    ["COUNT with a value property", { aggregation: "count" }, ["meter.value_property not_allowed"]],
    ["a 65-character value property", { valueProperty: "v".repeat(65) }, ["meter.value_property too_long"]],
    ["allow_negative on UNIQUE_COUNT", { aggregation: "unique_count", valueProperty: "user", allowNegative: true }, ["meter.allow_negative not_allowed"]],
    ["allow_negative on COUNT", { aggregation: "count", valueProperty: "", allowNegative: true }, ["meter.allow_negative not_allowed"]],
    ["9 group_by entries", { groupBy: Array.from({ length: 9 }, (_, i) => `g${i}`) }, ["meter.group_by too_many"]],
    ["a duplicate group_by entry", { groupBy: ["model", "model"] }, ["meter.group_by[1] duplicate"]],
    ["an empty group_by entry", { groupBy: ["model", ""] }, ["meter.group_by[1] required"]],
    ["17 filters", { filters: Array.from({ length: 17 }, (_, i) => ({ property: `p${i}`, values: ["x"] })) }, ["meter.filters too_many"]],
    ["a filter without values", { filters: [{ property: "region", values: [] }] }, ["meter.filters[0].values required"]],
    ["a filter without property", { filters: [{ property: "", values: ["x"] }] }, ["meter.filters[0].property required"]],
    ["two filters on one property", { filters: [{ property: "region", values: ["eu"] }, { property: "region", values: ["us"] }] }, ["meter.filters[1].property duplicate"]],
    ["101 filter values", { filters: [{ property: "region", values: Array.from({ length: 101 }, (_, i) => `v${i}`) }] }, ["meter.filters[0].values too_many"]],
    ["a 513-character filter value", { filters: [{ property: "region", values: ["eu", "x".repeat(513)] }] }, ["meter.filters[0].values[1] too_long"]],
    ["a 1,025-character description", { description: "d".repeat(1025) }, ["meter.description too_long"]],
  ])("rejects %s", (_, overrides, expected) => {
    expect(problems(overrides)).toEqual(expected);
  });

  it("reports every problem at once", () => {
    expect(problems({ key: "", eventType: "", aggregation: undefined, filters: [{ property: "", values: [] }] })).toEqual([
      "meter.key required",
      "meter.event_type required",
      "meter.aggregation required",
      "meter.filters[0].property required",
      "meter.filters[0].values required",
    ]);
  });

  it.each(["count", "sum", "max", "unique_count", "latest"] as const)("accepts a %s meter", (aggregation) => {
    const result = validateMeter(input({ aggregation, valueProperty: aggregation === "count" ? "" : "v", allowNegative: aggregation === "sum" }));
    expect(result.ok).toBe(true);
  });
});

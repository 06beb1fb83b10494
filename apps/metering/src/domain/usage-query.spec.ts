import type { MeterSpec } from "./meter";
import { checkQueryGroupBy, splitAtWholeMinutes, validateUsageQuery, windowCount, type UsageQueryInput } from "./usage-query";

const NOW = new Date("2026-03-15T12:34:56.789Z");
const at = (iso: string) => {
  const ms = new Date(iso).getTime();
  return { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
};

function input(overrides: Partial<UsageQueryInput> = {}): UsageQueryInput {
  return { customerId: "c1", meterKey: "llm_tokens", from: at("2026-03-01T00:00:00Z"), to: at("2026-04-01T00:00:00Z"), windowSize: "day", timeZone: "Europe/Paris", groupBy: [], ...overrides };
}

function problems(overrides: Partial<UsageQueryInput>): string[] {
  const result = validateUsageQuery(input(overrides), NOW);
  return result.ok ? [] : result.violations.map((v) => `${v.field} ${v.code}`);
}

describe("validateUsageQuery", () => {
  it("accepts a valid query", () => {
    const result = validateUsageQuery(input(), NOW);
    expect(result.ok && result.query).toMatchObject({ from: new Date("2026-03-01T00:00:00Z"), timeZone: "Europe/Paris", windowSize: "day" });
  });

  it("defaults `to` to the end of the current minute and the zone to UTC", () => {
    const result = validateUsageQuery(input({ to: undefined, timeZone: "" }), NOW);
    expect(result.ok && [result.query.to.toISOString(), result.query.timeZone]).toEqual(["2026-03-15T12:35:00.000Z", "UTC"]);
  });

  it.each<[string, Partial<UsageQueryInput>, string[]]>([
    ["no customer", { customerId: "" }, ["customer_id required"]],
    ["no meter", { meterKey: "" }, ["meter_key required"]],
    ["no from", { from: undefined }, ["from required"]],
    ["to with nanos finer than a millisecond", { to: { seconds: 1_775_001_600n, nanos: 1 } }, ["to not_whole_millisecond"]],
    ["a malformed from", { from: { seconds: 0n, nanos: -5 } }, ["from invalid_timestamp"]],
    ["to before from", { to: at("2026-02-01T00:00:00Z") }, ["to out_of_range"]],
    ["to equal to from", { to: at("2026-03-01T00:00:00Z") }, ["to out_of_range"]],
    ["an unknown time zone", { timeZone: "Mars/Olympus_Mons" }, ["time_zone unknown_time_zone"]],
    ["an unknown window size", { windowSize: undefined }, ["window_size invalid_value"]],
    ["10,001 hourly windows", { windowSize: "hour", from: at("2025-01-01T00:00:00Z"), to: at("2026-02-21T17:00:00Z") }, ["to out_of_range"]],
    ["a duplicate group_by", { groupBy: ["model", "model"] }, ["group_by[1] duplicate"]],
  ])("rejects %s", (_, overrides, expected) => {
    expect(problems(overrides)).toEqual(expected);
  });

  it("ignores the time zone unless windows are days", () => {
    expect(problems({ windowSize: "hour", timeZone: "Mars/Olympus_Mons" })).toEqual([]);
  });

  it("counts windows", () => {
    const from = new Date("2026-03-01T00:00:00Z");
    expect(windowCount(from, new Date("2026-03-01T01:00:00Z"), "hour")).toBe(1);
    expect(windowCount(from, new Date("2026-03-01T01:01:00Z"), "hour")).toBe(2);
    expect(windowCount(new Date("2026-03-01T00:30:00Z"), new Date("2026-03-01T01:30:00Z"), "hour")).toBe(2);
    expect(windowCount(from, new Date("2026-04-01T00:00:00Z"), "none")).toBe(1);
    expect(windowCount(from, new Date("2026-03-02T00:00:00Z"), "day")).toBe(2); // upper bound: zones shift days
  });

  it("checks group_by against the meter", () => {
    const meter = { key: "llm_tokens", groupBy: ["model", "region"] } as unknown as MeterSpec;
    const ok = validateUsageQuery(input({ groupBy: ["region"] }), NOW);
    const bad = validateUsageQuery(input({ groupBy: ["model", "team"] }), NOW);
    expect(ok.ok && checkQueryGroupBy(ok.query, meter)).toEqual([]);
    expect(bad.ok && checkQueryGroupBy(bad.query, meter).map((v) => `${v.field} ${v.code}`)).toEqual(["group_by[1] unknown_reference"]);
  });

  it("accepts millisecond edges", () => {
    const result = validateUsageQuery(input({ from: at("2026-03-01T19:59:01.413Z"), to: at("2026-04-01T19:59:01.413Z") }), NOW);
    expect(result.ok && result.query.from.toISOString()).toBe("2026-03-01T19:59:01.413Z");
  });
});

describe("splitAtWholeMinutes", () => {
  const d = (iso: string) => new Date(iso);
  const show = (s: ReturnType<typeof splitAtWholeMinutes>) => ({
    whole: [s.wholeMinutes.start.toISOString(), s.wholeMinutes.end.toISOString()],
    edges: s.partialEdges.map((e) => [e.start.toISOString(), e.end.toISOString()]),
  });

  it.each([
    ["whole minutes only", "2026-03-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z", ["2026-03-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z"], []],
    [
      "partial minutes at both edges",
      "2026-03-01T19:59:01.413Z",
      "2026-04-01T19:59:01.413Z",
      ["2026-03-01T20:00:00.000Z", "2026-04-01T19:59:00.000Z"],
      [
        ["2026-03-01T19:59:01.413Z", "2026-03-01T20:00:00.000Z"],
        ["2026-04-01T19:59:00.000Z", "2026-04-01T19:59:01.413Z"],
      ],
    ],
    ["a partial start only", "2026-03-01T00:00:30.000Z", "2026-03-01T00:05:00.000Z", ["2026-03-01T00:01:00.000Z", "2026-03-01T00:05:00.000Z"], [["2026-03-01T00:00:30.000Z", "2026-03-01T00:01:00.000Z"]]],
    ["no whole minute inside", "2026-03-01T00:00:30.000Z", "2026-03-01T00:01:30.000Z", ["2026-03-01T00:00:30.000Z", "2026-03-01T00:00:30.000Z"], [["2026-03-01T00:00:30.000Z", "2026-03-01T00:01:30.000Z"]]],
  ])("%s", (_, from, to, whole, edges) => {
    expect(show(splitAtWholeMinutes(d(from), d(to)))).toEqual({ whole, edges });
  });
});

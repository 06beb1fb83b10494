import { Decimal } from "@tally/pricing";
import type { Reading } from "./reading";
import { isLater, RollupAccumulator } from "./rollup";

const r = (meterKey: string, aggregation: Reading["aggregation"], value: string, groupValues: string[] = []): Reading => ({
  meterKey,
  aggregation,
  value,
  decimal: aggregation === "count" || aggregation === "unique_count" ? undefined : new Decimal(value),
  groupBy: groupValues.map((_, i) => `g${i}`),
  groupValues,
});

const REC = new Date("2026-03-15T12:10:00Z");
const ev = (id: string, time: string, readings: Reading[], customerId = "c1", recordTime = REC) => ({ id, customerId, time: new Date(time), recordTime, readings });

const put = (acc: RollupAccumulator, e: ReturnType<typeof ev>) => acc.add(e, e.recordTime);

describe("RollupAccumulator", () => {
  it("sums a batch into one delta per meter, customer, minute and group", () => {
    const acc = new RollupAccumulator();
    put(acc, ev("e1", "2026-03-15T12:00:05Z", [r("tokens", "sum", "10", ["gpt"]), r("calls", "count", "1")]));
    put(acc, ev("e2", "2026-03-15T12:00:59.999Z", [r("tokens", "sum", "2.5", ["gpt"]), r("calls", "count", "1")]));
    put(acc, ev("e3", "2026-03-15T12:01:00Z", [r("tokens", "sum", "1", ["gpt"])]));
    put(acc, ev("e4", "2026-03-15T12:00:30Z", [r("tokens", "sum", "7", ["llama"])]));
    put(acc, ev("e5", "2026-03-15T12:00:30Z", [r("tokens", "sum", "100", ["gpt"])], "c2"));
    put(acc, ev("e6", "2026-03-15T12:00:30Z", []));
    const rows = acc.rollups().map((d) => [d.meterKey, d.customerId, d.bucketStart.toISOString(), d.groupKey, d.eventCount, d.valueSum?.toString()]);
    expect(rows).toEqual([
      ["calls", "c1", "2026-03-15T12:00:00.000Z", "[]", 2, undefined],
      ["tokens", "c1", "2026-03-15T12:00:00.000Z", '["gpt"]', 2, "12.5"], // 10 + 2.5
      ["tokens", "c1", "2026-03-15T12:00:00.000Z", '["llama"]', 1, "7"],
      ["tokens", "c1", "2026-03-15T12:01:00.000Z", '["gpt"]', 1, "1"],
      ["tokens", "c2", "2026-03-15T12:00:00.000Z", '["gpt"]', 1, "100"],
    ]);
  });

  it("keeps every combination of several group values apart, events sharing a time Date included", () => {
    const acc = new RollupAccumulator();
    const at = new Date("2026-03-15T12:00:05Z");
    for (const [id, values] of [["e1", ["a", "bc"]], ["e2", ["ab", "c"]], ["e3", ["a", "bc"]], ["e4", ["", "abc"]]] as const) {
      acc.add({ id, customerId: "c1", time: at, readings: [r("tokens", "sum", "1", [...values])] }, REC);
    }
    expect(acc.rollups().map((d) => [d.groupKey, d.eventCount])).toEqual([
      ['["","abc"]', 1],
      ['["a","bc"]', 2],
      ['["ab","c"]', 1],
    ]);
    expect(acc.size).toBe(3);
  });

  it("keeps the max and the latest reading by (event time, record time, event id)", () => {
    const acc = new RollupAccumulator();
    put(acc, ev("b", "2026-03-15T12:00:10Z", [r("peak", "max", "3"), r("gauge", "latest", "30")]));
    put(acc, ev("a", "2026-03-15T12:00:20Z", [r("peak", "max", "9"), r("gauge", "latest", "20")]));
    put(acc, ev("c", "2026-03-15T12:00:20Z", [r("peak", "max", "-1"), r("gauge", "latest", "21")]));
    put(acc, ev("z", "2026-03-15T12:00:15Z", [r("gauge", "latest", "99")]));
    const [gauge, peak] = acc.rollups();
    expect(peak!.valueMax!.toString()).toBe("9");
    expect(gauge!.latest).toMatchObject({ eventId: "c", value: new Decimal(21) }); // same time as "a", greater id
  });

  it("collects distinct unique values per bucket and group", () => {
    const acc = new RollupAccumulator();
    put(acc, ev("e1", "2026-03-15T12:00:01Z", [r("users", "unique_count", "ann")]));
    put(acc, ev("e2", "2026-03-15T12:00:02Z", [r("users", "unique_count", "ann")]));
    put(acc, ev("e3", "2026-03-15T12:00:03Z", [r("users", "unique_count", "bob")]));
    put(acc, ev("e4", "2026-03-15T12:01:03Z", [r("users", "unique_count", "ann")]));
    expect(acc.uniqueValues().map((u) => [u.bucketStart.toISOString().slice(11, 16), u.value])).toEqual([
      ["12:00", "ann"],
      ["12:00", "bob"],
      ["12:01", "ann"],
    ]);
    expect(acc.rollups().map((d) => d.eventCount)).toEqual([3, 1]);
  });
});

describe("isLater", () => {
  const at = (time: string, recordTime: string, eventId: string) => ({ time: new Date(time), recordTime: new Date(recordTime), eventId, value: new Decimal(0) });
  it("orders by event time, then record time, then event id in code point order", () => {
    expect(isLater(at("2026-01-01T00:00:01Z", "2026-01-01T00:00:00Z", "a"), at("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "z"))).toBe(true);
    expect(isLater(at("2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z", "a"), at("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "z"))).toBe(true);
    expect(isLater(at("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "b"), at("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "a"))).toBe(true);
    // U+1F600 sorts after U+FF5E by code point (and in Postgres COLLATE "C"), though not by UTF-16 unit.
    expect(isLater(at("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "😀"), at("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "～"))).toBe(true);
  });
});

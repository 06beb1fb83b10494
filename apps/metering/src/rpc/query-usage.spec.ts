import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { metering } from "@tally/contracts";
import { failure, startMetering, ts, type EventInit, type MeteringHarness, type QueryInit } from "../testing/metering-harness";

const { COUNT, SUM, MAX, UNIQUE_COUNT, LATEST } = metering.Aggregation;
const { HOUR, DAY } = metering.WindowSize;

/**
 * The clock stands at 2026-03-10T12:00Z, so events from 2026-02-03 on can be recorded: the
 * February/March boundary and New York's switch to daylight saving time (2026-03-08, a 23-hour
 * day) are both inside the window.
 */
describe("Meter.QueryUsage", () => {
  let h: MeteringHarness;
  let n = 0;
  const ev = (eventType: string, time: string, properties: Record<string, string>, customerId = "c1"): EventInit => ({
    id: `q_${++n}`,
    customerId,
    eventType,
    time: ts(time),
    properties,
  });

  beforeAll(async () => {
    h = await startMetering({ now: "2026-03-10T12:00:00Z" });
    const meters = [
      { key: "calls", eventType: "llm", aggregation: COUNT },
      { key: "tokens", eventType: "llm", aggregation: SUM, valueProperty: "tokens", groupBy: ["model", "region"], filters: [{ property: "env", values: ["prod"] }] },
      { key: "gpu_peak", eventType: "gpu", aggregation: MAX, valueProperty: "gpus", groupBy: ["cluster"] },
      { key: "users", eventType: "chat", aggregation: UNIQUE_COUNT, valueProperty: "user", groupBy: ["team"] },
      { key: "storage", eventType: "gauge", aggregation: LATEST, valueProperty: "bytes", allowNegative: true },
    ];
    for (const meter of meters) await h.admin.createMeter({ meter });
    const events: EventInit[] = [
      // llm: across the month boundary, with a filtered-out dev event
      ev("llm", "2026-02-28T23:59:59.999Z", { tokens: "0.1", model: "gpt", region: "eu", env: "prod" }),
      ev("llm", "2026-03-01T00:00:00Z", { tokens: "0.2", model: "gpt", region: "eu", env: "prod" }),
      ev("llm", "2026-03-01T00:30:00Z", { tokens: "1000", model: "llama", region: "us", env: "prod" }),
      ev("llm", "2026-03-01T01:10:00Z", { tokens: "5", model: "gpt", region: "us", env: "prod" }),
      ev("llm", "2026-03-01T01:20:00Z", { tokens: "999", model: "gpt", region: "us", env: "dev" }),
      ev("llm", "2026-03-02T03:00:00Z", { tokens: "12345678901234567890123456.123456789012", model: "big", region: "eu", env: "prod" }),
      ev("llm", "2026-03-02T04:00:00Z", { tokens: "12345678901234567890123456.123456789012", model: "big", region: "eu", env: "prod" }),
      ev("llm", "2026-03-01T00:00:00Z", { tokens: "7", model: "gpt", region: "eu", env: "prod" }, "c2"),
      // gpu: MAX per cluster
      ev("gpu", "2026-03-01T10:00:00Z", { gpus: "4", cluster: "a" }),
      ev("gpu", "2026-03-01T11:00:00Z", { gpus: "16", cluster: "a" }),
      ev("gpu", "2026-03-02T10:00:00Z", { gpus: "8", cluster: "a" }),
      ev("gpu", "2026-03-01T10:00:00Z", { gpus: "2.5", cluster: "b" }),
      // chat: distinct users per team
      ev("chat", "2026-03-01T09:00:00Z", { user: "ann", team: "red" }),
      ev("chat", "2026-03-01T09:30:00Z", { user: "ann", team: "red" }),
      ev("chat", "2026-03-01T10:15:00Z", { user: "bob", team: "red" }),
      ev("chat", "2026-03-02T09:00:00Z", { user: "ann", team: "red" }),
      ev("chat", "2026-03-01T09:00:00Z", { user: "ann", team: "blue" }),
      ev("chat", "2026-03-01T09:00:00Z", { user: "Ann", team: "blue" }),
      // gauge: the latest value by event time, not by arrival
      ev("gauge", "2026-03-01T12:00:00Z", { bytes: "300" }),
      ev("gauge", "2026-03-01T18:00:00Z", { bytes: "100" }),
      ev("gauge", "2026-03-01T15:00:00Z", { bytes: "-5" }),
      ev("gauge", "2026-03-02T01:00:00Z", { bytes: "50" }),
      // around New York's DST switch (2026-03-08 02:00 local → 03:00)
      ev("llm", "2026-03-08T04:59:00Z", { tokens: "1", model: "dst", region: "us", env: "prod" }), // 2026-03-07 23:59 EST
      ev("llm", "2026-03-08T05:00:00Z", { tokens: "2", model: "dst", region: "us", env: "prod" }), // 2026-03-08 00:00 EST
      ev("llm", "2026-03-09T03:59:00Z", { tokens: "3", model: "dst", region: "us", env: "prod" }), // 2026-03-08 23:59 EDT
      ev("llm", "2026-03-09T04:00:00Z", { tokens: "4", model: "dst", region: "us", env: "prod" }), // 2026-03-09 00:00 EDT
    ];
    const res = await h.ingest.recordBatch({ events });
    expect(res.acceptedCount).toBe(events.length);
  });
  afterAll(() => h.close());

  type Query = QueryInit;
  async function rows(query: Query) {
    const res = await h.reader.queryUsage({ customerId: "c1", ...query });
    return res.rows.map((r) => ({
      start: timestampDate(r.windowStart!).toISOString().replace(":00.000Z", "Z"),
      end: timestampDate(r.windowEnd!).toISOString().replace(":00.000Z", "Z"),
      group: r.group,
      value: r.value,
    }));
  }
  const values = async (query: Query) => (await rows(query)).map((r) => (Object.keys(r.group).length ? [r.group, r.value] : r.value));

  it("COUNT over a range across the month boundary, half-open [from, to)", async () => {
    expect(await values({ meterKey: "calls", from: ts("2026-02-28T00:00:00Z"), to: ts("2026-03-03T00:00:00Z") })).toEqual(["7"]);
    expect(await values({ meterKey: "calls", from: ts("2026-03-01T00:00:00Z"), to: ts("2026-03-03T00:00:00Z") })).toEqual(["6"]);
    expect(await values({ meterKey: "calls", from: ts("2026-02-01T00:00:00Z"), to: ts("2026-03-01T00:00:00Z") })).toEqual(["1"]);
  });

  it("COUNT per UTC day across the month boundary, windows clipped to the range", async () => {
    expect(await rows({ meterKey: "calls", from: ts("2026-02-28T12:00:00Z"), to: ts("2026-03-02T03:30:00Z"), windowSize: DAY })).toEqual([
      { start: "2026-02-28T12:00Z", end: "2026-03-01T00:00Z", group: {}, value: "1" },
      { start: "2026-03-01T00:00Z", end: "2026-03-02T00:00Z", group: {}, value: "4" },
      { start: "2026-03-02T00:00Z", end: "2026-03-02T03:30Z", group: {}, value: "1" },
    ]);
  });

  it("SUM exactly, with filters, grouped by all or some of the meter's group_by", async () => {
    const range = { meterKey: "tokens", from: ts("2026-02-28T00:00:00Z"), to: ts("2026-03-02T00:00:00Z") };
    expect(await values(range)).toEqual(["1005.3"]); // 0.1 + 0.2 + 1000 + 5; the dev event is filtered out
    expect(await values({ ...range, groupBy: ["model", "region"] })).toEqual([
      [{ model: "gpt", region: "eu" }, "0.3"],
      [{ model: "gpt", region: "us" }, "5"],
      [{ model: "llama", region: "us" }, "1000"],
    ]);
    expect(await values({ ...range, groupBy: ["region"] })).toEqual([
      [{ region: "eu" }, "0.3"],
      [{ region: "us" }, "1005"],
    ]);
  });

  it("SUM beyond 38 digits stays exact", async () => {
    // 12345678901234567890123456.123456789012 × 2
    expect(await values({ meterKey: "tokens", from: ts("2026-03-02T00:00:00Z"), to: ts("2026-03-03T00:00:00Z") })).toEqual(["24691357802469135780246912.246913578024"]);
  });

  it("refuses a SUM needing more than 26 integer digits (38 significant) with OUT_OF_RANGE, never a longer value", async () => {
    const max = "99999999999999999999999999.999999999999"; // the per-event maximum
    const events = [1, 2].map(() => ev("llm", "2026-03-03T05:00:00Z", { tokens: max, model: "big", region: "eu", env: "prod" }, "c_max"));
    expect((await h.ingest.recordBatch({ events })).acceptedCount).toBe(2);
    const query = { meterKey: "tokens", customerId: "c_max", from: ts("2026-03-03T00:00:00Z"), to: ts("2026-03-04T00:00:00Z") };
    expect(await failure(h.reader.queryUsage(query))).toMatchObject({ code: Code.OutOfRange, reason: "aggregate_out_of_range" });
  });

  it("SUM per hour, only windows with usage", async () => {
    expect(await rows({ meterKey: "tokens", from: ts("2026-03-01T00:00:00Z"), to: ts("2026-03-01T03:00:00Z"), windowSize: HOUR, groupBy: ["model"] })).toEqual([
      { start: "2026-03-01T00:00Z", end: "2026-03-01T01:00Z", group: { model: "gpt" }, value: "0.2" },
      { start: "2026-03-01T00:00Z", end: "2026-03-01T01:00Z", group: { model: "llama" }, value: "1000" },
      { start: "2026-03-01T01:00Z", end: "2026-03-01T02:00Z", group: { model: "gpt" }, value: "5" },
    ]);
  });

  it("SUM per day in New York: local midnights, a 23-hour day at the DST switch", async () => {
    const from = ts("2026-03-07T05:00:00Z"); // 2026-03-07 00:00 EST
    const to = ts("2026-03-10T04:00:00Z"); // 2026-03-10 00:00 EDT
    expect(await rows({ meterKey: "tokens", from, to, windowSize: DAY, timeZone: "America/New_York" })).toEqual([
      { start: "2026-03-07T05:00Z", end: "2026-03-08T05:00Z", group: {}, value: "1" },
      { start: "2026-03-08T05:00Z", end: "2026-03-09T04:00Z", group: {}, value: "5" }, // 2 + 3, 23 hours
      { start: "2026-03-09T04:00Z", end: "2026-03-10T04:00Z", group: {}, value: "4" },
    ]);
  });

  it("COUNT per day in a half-hour zone (Asia/Kolkata, UTC+05:30)", async () => {
    expect(await rows({ meterKey: "calls", from: ts("2026-02-28T18:30:00Z"), to: ts("2026-03-02T18:30:00Z"), windowSize: DAY, timeZone: "Asia/Kolkata" })).toEqual([
      { start: "2026-02-28T18:30Z", end: "2026-03-01T18:30Z", group: {}, value: "5" }, // 1 March IST
      { start: "2026-03-01T18:30Z", end: "2026-03-02T18:30Z", group: {}, value: "2" }, // 2 March IST
    ]);
  });

  it("MAX per group, and per day", async () => {
    const range = { meterKey: "gpu_peak", from: ts("2026-03-01T00:00:00Z"), to: ts("2026-03-03T00:00:00Z") };
    expect(await values({ ...range, groupBy: ["cluster"] })).toEqual([
      [{ cluster: "a" }, "16"],
      [{ cluster: "b" }, "2.5"],
    ]);
    expect(await values({ ...range, windowSize: DAY })).toEqual(["16", "8"]);
  });

  it("UNIQUE_COUNT counts distinct values over the whole window, not per minute", async () => {
    const range = { meterKey: "users", from: ts("2026-03-01T00:00:00Z"), to: ts("2026-03-03T00:00:00Z") };
    expect(await values(range)).toEqual(["3"]); // ann, bob, Ann (exact strings)
    expect(await values({ ...range, groupBy: ["team"] })).toEqual([
      [{ team: "blue" }, "2"],
      [{ team: "red" }, "2"],
    ]);
    expect(await values({ ...range, windowSize: HOUR, groupBy: ["team"] })).toEqual([
      [{ team: "blue" }, "2"], // 09:00
      [{ team: "red" }, "1"], // 09:00 (ann twice)
      [{ team: "red" }, "1"], // 10:00
      [{ team: "red" }, "1"], // 2 March 09:00
    ]);
  });

  it("LATEST takes the value with the latest event time, whatever the arrival order", async () => {
    const range = { meterKey: "storage", from: ts("2026-03-01T00:00:00Z"), to: ts("2026-03-03T00:00:00Z") };
    expect(await values(range)).toEqual(["50"]);
    expect(await values({ ...range, windowSize: DAY })).toEqual(["100", "50"]);
    expect(await values({ ...range, to: ts("2026-03-01T16:00:00Z") })).toEqual(["-5"]);
  });

  it("LATEST breaks a tie on event time by record time, then by event id", async () => {
    await h.admin.createMeter({ meter: { key: "tie", eventType: "tie", aggregation: LATEST, valueProperty: "v" } });
    const at = "2026-03-05T10:00:00Z";
    await h.ingest.recordBatch({ events: [{ ...ev("tie", at, { v: "1" }), id: "tie_b" }, { ...ev("tie", at, { v: "2" }), id: "tie_a" }] });
    const range = { meterKey: "tie", from: ts("2026-03-05T00:00:00Z"), to: ts("2026-03-06T00:00:00Z") };
    expect(await values(range)).toEqual(["1"]); // same record time: the greater id, tie_b
    h.clock.advance(1_000);
    await h.ingest.record({ event: { ...ev("tie", at, { v: "3" }), id: "tie_0" } });
    expect(await values(range)).toEqual(["3"]); // recorded later
  });

  it("counts each accepted event exactly once, also in batches mixing new, duplicate and conflicting events", async () => {
    const a = ev("llm", "2026-03-06T10:00:00Z", { tokens: "1", model: "m", region: "eu", env: "prod" }, "c9");
    const b = ev("chat", "2026-03-06T10:00:00Z", { user: "xavier", team: "green" }, "c9");
    expect((await h.ingest.recordBatch({ events: [a, b] })).acceptedCount).toBe(2);
    const c = ev("llm", "2026-03-06T10:00:30Z", { tokens: "2", model: "m", region: "eu", env: "prod" }, "c9");
    const d = ev("chat", "2026-03-06T10:00:30Z", { user: "yara", team: "green" }, "c9");
    const res = await h.ingest.recordBatch({ events: [a, c, { ...b, properties: { user: "zoe", team: "green" } }, d, c] });
    expect(res.results.map((r) => r.status)).toEqual([
      metering.EventStatus.DUPLICATE,
      metering.EventStatus.ACCEPTED,
      metering.EventStatus.CONFLICT,
      metering.EventStatus.ACCEPTED,
      metering.EventStatus.DUPLICATE,
    ]);
    const range = { customerId: "c9", from: ts("2026-03-06T00:00:00Z"), to: ts("2026-03-07T00:00:00Z") };
    expect(await values({ ...range, meterKey: "calls" })).toEqual(["2"]);
    expect(await values({ ...range, meterKey: "tokens" })).toEqual(["3"]);
    expect(await values({ ...range, meterKey: "users" })).toEqual(["2"]); // xavier, yara — not zoe
  });

  it("sees only the customer asked for", async () => {
    const c2 = await h.reader.queryUsage({ customerId: "c2", meterKey: "calls", from: ts("2026-03-01T00:00:00Z") });
    expect(c2.rows.map((r) => r.value)).toEqual(["1"]);
    const nobody = await h.reader.queryUsage({ customerId: "nobody", meterKey: "calls", from: ts("2026-03-01T00:00:00Z") });
    expect(nobody.rows).toEqual([]);
  });

  it.each<[string, Partial<Query>, string]>([
    ["from finer than a millisecond", { from: { seconds: 1_772_323_200n, nanos: 1_500 } }, "from"],
    ["no from", { from: undefined }, "from"],
    ["to before from", { to: ts("2026-02-01T00:00:00Z") }, "to"],
    ["an unknown time zone", { windowSize: DAY, timeZone: "Europe/Atlantis" }, "time_zone"],
    ["a group_by the meter does not have", { groupBy: ["team"] }, "group_by[0]"],
    ["no customer", { customerId: "" }, "customer_id"],
    ["more than 10,000 hourly windows", { windowSize: HOUR, from: ts("2025-01-01T00:00:00Z"), to: ts("2026-03-01T00:00:00Z") }, "to"],
  ])("rejects %s as INVALID_ARGUMENT naming the field", async (_, overrides, field) => {
    const query = { customerId: "c1", meterKey: "tokens", from: ts("2026-03-01T00:00:00Z"), to: ts("2026-03-02T00:00:00Z"), ...overrides };
    expect(await failure(h.reader.queryUsage(query))).toMatchObject({ code: Code.InvalidArgument, field });
  });

  it("fails with NOT_FOUND for an unknown meter, and needs the read scope", async () => {
    expect(await failure(h.reader.queryUsage({ customerId: "c1", meterKey: "nope", from: ts("2026-03-01T00:00:00Z") }))).toMatchObject({ code: Code.NotFound, reason: "meter_not_found" });
    expect((await failure(h.ingest.queryUsage({ customerId: "c1", meterKey: "calls", from: ts("2026-03-01T00:00:00Z") }))).code).toBe(Code.PermissionDenied);
    expect((await h.admin.queryUsage({ customerId: "c1", meterKey: "calls", from: ts("2026-03-01T00:00:00Z") })).rows).toHaveLength(1);
  });
});

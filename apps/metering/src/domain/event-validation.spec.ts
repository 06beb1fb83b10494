import { BOUNDS } from "./bounds";
import type { Meter } from "./meter";
import { validateEvent, type EventValidationContext } from "./event-validation";
import type { UsageEventInput } from "./usage-event";

const NOW = new Date("2026-03-15T12:00:00Z");
const DAY = 86_400_000;

function meter(overrides: Partial<Meter>): Meter {
  return {
    key: "llm_tokens",
    eventType: "llm.completion",
    aggregation: "sum",
    valueProperty: "tokens",
    groupBy: [],
    filters: [],
    allowNegative: false,
    description: "",
    state: "active",
    createTime: new Date("2026-01-01T00:00:00Z"),
    archiveTime: undefined,
    ...overrides,
  };
}

const METERS: Meter[] = [
  meter({}),
  meter({ key: "llm_calls", aggregation: "count", valueProperty: "" }),
  meter({ key: "gpu_peak", eventType: "gpu.sample", aggregation: "max", valueProperty: "gpus" }),
  meter({ key: "refunds", eventType: "credit.adjust", aggregation: "sum", valueProperty: "amount", allowNegative: true }),
  meter({ key: "active_users", eventType: "chat.message", aggregation: "unique_count", valueProperty: "user" }),
  meter({ key: "eu_storage", eventType: "storage.gauge", aggregation: "latest", valueProperty: "bytes", filters: [{ property: "region", values: ["eu"] }] }),
];

const ctx: EventValidationContext = {
  receivedAt: NOW,
  backfillMs: 35 * DAY,
  metersFor: (type) => METERS.filter((m) => m.eventType === type),
};

function input(overrides: Partial<UsageEventInput> = {}): UsageEventInput {
  return { id: "evt_1", customerId: "cust_1", eventType: "llm.completion", time: undefined, properties: { tokens: "1532", model: "gpt-4o" }, ...overrides };
}

function at(iso: string) {
  const ms = new Date(iso).getTime();
  return { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

/** The first violation's field and code, or "valid". */
function outcome(event: UsageEventInput, path = "events[3]"): string {
  const checked = validateEvent(event, path, ctx);
  return checked.kind === "valid" ? "valid" : checked.violations.map((v) => `${v.field} ${v.code}`).join(", ");
}

describe("validateEvent", () => {
  it("accepts a valid event, defaults its time to the receive time and reads every matching meter", () => {
    const checked = validateEvent(input(), "event", ctx);
    expect(checked.kind).toBe("valid");
    if (checked.kind !== "valid") return;
    expect(checked.event.time).toEqual(NOW);
    expect(checked.event.timeGiven).toBe(false);
    expect(checked.event.readings.map((r) => [r.meterKey, r.value])).toEqual([
      ["llm_tokens", "1532"],
      ["llm_calls", "1"],
    ]);
  });

  it.each<[string, Partial<UsageEventInput>, string]>([
    ["missing id", { id: "" }, "events[3].id required"],
    ["overlong id (256 characters)", { id: "x".repeat(256) }, "events[3].id too_long"],
    ["id with NUL", { id: "a\u0000b" }, "events[3].id invalid_character"],
    ["empty customer", { customerId: "" }, "events[3].customer_id required"],
    ["overlong customer", { customerId: "c".repeat(256) }, "events[3].customer_id too_long"],
    ["empty event type", { eventType: "" }, "events[3].event_type required"],
    ["an event type no active meter reads", { eventType: "llm.completoin" }, "events[3].event_type unknown_event_type"],
    ["a SUM value that is missing (no silent zero)", { properties: { model: "gpt-4o" } }, "events[3].properties[tokens] required"],
    ["a SUM value that is not a number", { properties: { tokens: "many" } }, "events[3].properties[tokens] invalid_decimal"],
    ["an empty SUM value", { properties: { tokens: "" } }, "events[3].properties[tokens] invalid_decimal"],
    ["NaN", { properties: { tokens: "NaN" } }, "events[3].properties[tokens] invalid_decimal"],
    ["Infinity", { properties: { tokens: "Infinity" } }, "events[3].properties[tokens] invalid_decimal"],
    ["exponent notation", { properties: { tokens: "1e5" } }, "events[3].properties[tokens] invalid_decimal"],
    ["13 decimal places (NUMERIC(38,12) holds 12)", { properties: { tokens: "0.0000000000001" } }, "events[3].properties[tokens] too_many_decimal_places"],
    ["27 integer digits (NUMERIC(38,12) holds 38 − 12 = 26)", { properties: { tokens: "1" + "0".repeat(26) } }, "events[3].properties[tokens] too_many_digits"],
    ["a negative value the meter forbids", { properties: { tokens: "-5" } }, "events[3].properties[tokens] negative"],
    ["a MAX value that is missing", { eventType: "gpu.sample", properties: {} }, "events[3].properties[gpus] required"],
    ["a UNIQUE_COUNT value that is missing", { eventType: "chat.message", properties: {} }, "events[3].properties[user] required"],
    ["33 properties", { properties: Object.fromEntries([["tokens", "1"], ...Array.from({ length: 32 }, (_, i) => [`p${i}`, "v"])]) }, "events[3].properties too_many"],
    // 8 × (2 + 512) + 7 bytes: each value within 512 characters, together over 4,096 bytes
    ["properties over 4,096 bytes together", { properties: Object.fromEntries([["tokens", "1"], ...Array.from({ length: 8 }, (_, i) => [`p${i}`, "v".repeat(512)])]) }, "events[3].properties too_large"],
    ["an empty property key", { properties: { tokens: "1", "": "v" } }, "events[3].properties[] required"],
    ["a 65-character property key", { properties: { tokens: "1", ["k".repeat(65)]: "v" } }, `events[3].properties[${"k".repeat(65)}] too_long`],
    ["a 513-character property value", { properties: { tokens: "1", note: "v".repeat(513) } }, "events[3].properties[note] too_long"],
    ["a property value with NUL", { properties: { tokens: "1", note: "a\u0000" } }, "events[3].properties[note] invalid_character"],
    ["an unknown reserved property", { properties: { tokens: "1", tally_secret: "x" } }, "events[3].properties[tally_secret] reserved"],
    ["a time more than 5 minutes ahead", { time: at("2026-03-15T12:05:00.001Z") }, "events[3].time in_future"],
    ["a time older than the backfill window", { time: at("2026-02-07T23:59:59Z") }, "events[3].time too_old"],
    ["nanos out of range", { time: { seconds: 1_773_576_000n, nanos: 1_000_000_000 } }, "events[3].time invalid_timestamp"],
    ["negative nanos", { time: { seconds: 1_773_576_000n, nanos: -1 } }, "events[3].time invalid_timestamp"],
    ["seconds beyond year 9999", { time: { seconds: 253_402_300_800n, nanos: 0 } }, "events[3].time invalid_timestamp"],
  ])("rejects %s", (_, overrides, expected) => {
    expect(outcome(input(overrides))).toBe(expected);
  });

  it.each<[string, Partial<UsageEventInput>]>([
    ["exactly 5 minutes ahead", { time: at("2026-03-15T12:05:00Z") }],
    ["exactly at the backfill edge", { time: at("2026-02-08T12:00:00Z") }],
    ["255-character id, customer and type limits", { id: "x".repeat(255), customerId: "c".repeat(255) }],
    ["an id of 255 astral characters (510 UTF-16 units)", { id: "😀".repeat(255) }],
    ["32 properties", { properties: Object.fromEntries([["tokens", "1"], ...Array.from({ length: 31 }, (_, i) => [`p${i}`, "v"])]) }],
    ["the known reserved property", { properties: { tokens: "1", tally_reservation_id: "res_1" } }],
    ["12 decimal places and 26 integer digits (38 in all)", { properties: { tokens: "12345678901234567890123456.123456789012" } }],
    ["zero", { properties: { tokens: "0" } }],
    ["minus zero", { properties: { tokens: "-0" } }],
  ])("accepts %s", (_, overrides) => {
    expect(outcome(input(overrides))).toBe("valid");
  });

  it("collects every problem, not only the first", () => {
    expect(outcome(input({ id: "", customerId: "", properties: { tokens: "-1", tally_x: "y" } }), "event")).toBe(
      "event.id required, event.customer_id required, event.properties[tally_x] reserved",
    );
    expect(outcome(input({ id: "", customerId: "", properties: { tokens: "-1" } }), "event")).toBe(
      "event.id required, event.customer_id required, event.properties[tokens] negative",
    );
  });

  it("allows negative values where the meter does, and checks only meters whose filters match", () => {
    expect(outcome(input({ eventType: "credit.adjust", properties: { amount: "-12.5" } }))).toBe("valid");
    // The LATEST meter filters on region=eu: a US event is recorded without reading `bytes`.
    const us = validateEvent(input({ eventType: "storage.gauge", properties: { region: "us" } }), "event", ctx);
    expect(us.kind === "valid" && us.event.readings).toEqual([]);
    expect(outcome(input({ eventType: "storage.gauge", properties: { region: "eu" } }))).toBe("events[3].properties[bytes] required");
  });

  it("reports a value once when several meters need it", () => {
    const twoSums: EventValidationContext = { ...ctx, metersFor: () => [meter({}), meter({ key: "llm_tokens_by_model", groupBy: ["model"] })] };
    const checked = validateEvent(input({ properties: { tokens: "x" } }), "event", twoSums);
    expect(checked.kind === "rejected" && checked.violations).toHaveLength(1);
  });

  it("names the value, the meter and the field in its message", () => {
    const checked = validateEvent(input({ properties: { tokens: "12,5" } }), "event", ctx);
    expect(checked.kind === "rejected" && checked.violations[0]!.message).toBe(
      '"12,5" is not a plain decimal number (e.g. "1532" or "0.25"; no exponent, NaN or Infinity), required by meter "llm_tokens" (SUM)',
    );
  });

  it("keeps the id and content of a rejected event so that a retry of a stored event is recognised", () => {
    const checked = validateEvent(input({ time: at("2026-01-01T00:00:00Z") }), "event", ctx);
    expect(checked.kind).toBe("rejected");
    if (checked.kind !== "rejected") return;
    expect(checked.id).toBe("evt_1");
    expect(checked.content?.time).toEqual(new Date("2026-01-01T00:00:00Z"));
  });

  it("reads canonical decimals and raw unique values, with group values in group_by order", () => {
    const grouped: EventValidationContext = {
      ...ctx,
      metersFor: () => [meter({ groupBy: ["region", "model"] }), meter({ key: "users", aggregation: "unique_count", valueProperty: "user" })],
    };
    const checked = validateEvent(input({ properties: { tokens: "1.500", model: "gpt-4o", user: " Ann " } }), "event", grouped);
    expect(checked.kind === "valid" && checked.event.readings.map((r) => [r.value, r.groupValues])).toEqual([
      ["1.5", ["", "gpt-4o"]],
      [" Ann ", []],
    ]);
  });

  it("uses the configured backfill window", () => {
    const shortWindow = { ...ctx, backfillMs: 1 * DAY };
    expect(validateEvent(input({ time: at("2026-03-14T11:59:59Z") }), "event", shortWindow).kind).toBe("rejected");
    expect(validateEvent(input({ time: at("2026-03-14T12:00:00Z") }), "event", shortWindow).kind).toBe("valid");
    expect(BOUNDS.defaultBackfillDays).toBe(35);
  });
});

describe("validateEvent: the received bytes (wire)", () => {
  const wire = new Uint8Array([1, 2, 3]);
  const input = (time?: { seconds: bigint; nanos: number }): UsageEventInput => ({ id: "e1", customerId: "c1", eventType: "llm.completion", time, properties: { tokens: "5" }, wire });
  const wireOf = (i: UsageEventInput) => {
    const checked = validateEvent(i, "event", ctx);
    if (checked.kind !== "valid") throw new Error("expected a valid event");
    return checked.event.wire;
  };

  it("are kept when the time is omitted or has whole milliseconds: they encode the recorded event", () => {
    expect(wireOf(input())).toBe(wire);
    expect(wireOf(input({ seconds: BigInt(NOW.getTime() / 1000), nanos: 123_000_000 }))).toBe(wire);
  });

  it("are dropped when the time has finer digits, which the recorded event does not keep", () => {
    expect(wireOf(input({ seconds: BigInt(NOW.getTime() / 1000), nanos: 123_456_789 }))).toBeUndefined();
  });
});

import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { metering } from "@tally/contracts";
import { Decimal } from "@tally/pricing";
import type { ValidEvent } from "../domain/usage-event";
import { encodeUsageRecorded, type EventTraces } from "./usage-recorded-encoder";
import { aggregationToProto } from "../adapter/proto-meter";

const RECORD_TIME = new Date("2026-03-15T12:00:01Z");

function event(overrides: Partial<ValidEvent> = {}): ValidEvent {
  return {
    id: "evt_1",
    customerId: "cust_1",
    eventType: "llm.completion",
    time: new Date("2026-03-15T12:00:00.123Z"),
    timeGiven: true,
    properties: { tokens: "1532", model: "gpt-4o" },
    readings: [
      { meterKey: "llm_tokens", aggregation: "sum", value: "1532", decimal: new Decimal(1532), groupBy: ["model", "region"], groupValues: ["gpt-4o", ""] },
      { meterKey: "llm_calls", aggregation: "count", value: "1", decimal: undefined, groupBy: [], groupValues: [] },
    ],
    ...overrides,
  };
}

/** What protobuf-es makes of the same data: the reference the hand-written encoder must match. */
function reference(meta: { id: string; time: Date }, events: ValidEvent[], recordTime: Date, traces?: EventTraces) {
  return create(metering.UsageRecordedSchema, {
    traceparents: traces ? [...traces.traceparents] : [],
    meta: { id: meta.id, source: "tally.metering", subject: "tally.metering.v1.usage.recorded", time: timestampFromDate(meta.time) },
    events: events.map((e, i) => ({
      traceIndex: traces?.indexes[i] ?? 0,
      id: e.id,
      customerId: e.customerId,
      eventType: e.eventType,
      time: timestampFromDate(e.time),
      properties: { ...e.properties },
      recordTime: timestampFromDate(recordTime),
      readings: e.readings.map((r) => ({
        meterKey: r.meterKey,
        aggregation: aggregationToProto(r.aggregation),
        value: r.value,
        group: Object.fromEntries(r.groupBy.map((g, i) => [g, r.groupValues[i]!])),
      })),
    })),
  });
}

function roundTrip(events: ValidEvent[], recordTime = RECORD_TIME, time = new Date("2026-03-15T12:00:02.5Z"), traces?: EventTraces) {
  const meta = { id: "usage:7b0c", source: "tally.metering", subject: "tally.metering.v1.usage.recorded", time };
  const bytes = encodeUsageRecorded(meta, events, recordTime, traces);
  const decoded = fromBinary(metering.UsageRecordedSchema, bytes);
  const expected = reference(meta, events, recordTime, traces);
  return { bytes, decoded, expected };
}

describe("encodeUsageRecorded", () => {
  it("decodes, with protobuf-es, to exactly what create() builds", () => {
    const { decoded, expected } = roundTrip([event(), event({ id: "evt_2", readings: [], properties: {} })]);
    expect(equals(metering.UsageRecordedSchema, decoded, expected)).toBe(true);
  });

  it("produces the same bytes as toBinary for the same field order", () => {
    const { bytes, expected } = roundTrip([event()]);
    expect(Buffer.from(bytes).equals(Buffer.from(toBinary(metering.UsageRecordedSchema, expected)))).toBe(true);
  });

  it.each([
    ["non-ASCII strings (2-, 3- and 4-byte UTF-8)", event({ id: "é-€-😀", customerId: "客户", properties: { "modèle": "🤖".repeat(100), tokens: "1" } })],
    ["long strings (multi-byte length varints)", event({ id: "x".repeat(255), properties: { note: "y".repeat(512) } })],
    ["whole-second times (nanos omitted)", event({ time: new Date("2026-03-15T12:00:00Z") })],
    ["times before 1970 (negative int64 seconds)", event({ time: new Date("1969-12-31T23:59:58.5Z") })],
    ["the epoch itself (empty Timestamp)", event({ time: new Date(0) })],
    ["every aggregation", event({ readings: (["count", "sum", "max", "unique_count", "latest"] as const).map((a) => ({ meterKey: `m_${a}`, aggregation: a, value: "7", decimal: undefined, groupBy: ["model"], groupValues: ["x"] })) })],
  ])("round-trips %s", (_, e) => {
    const { decoded, expected } = roundTrip([e]);
    expect(equals(metering.UsageRecordedSchema, decoded, expected)).toBe(true);
  });

  it("writes each event's trace index and the message's traceparents", () => {
    const traces = {
      traceparents: ["00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"],
      // 200 needs a 2-byte varint; 0 is an untraced call's event (no field written).
      indexes: [1, 0, 2, 200],
    };
    const events = [event(), event({ id: "evt_2" }), event({ id: "evt_3", readings: [] }), event({ id: "evt_4" })];
    const { bytes, decoded, expected } = roundTrip(events, RECORD_TIME, undefined, traces);
    expect(decoded.traceparents).toEqual(traces.traceparents);
    expect(decoded.events.map((e) => e.traceIndex)).toEqual([1, 0, 2, 200]);
    expect(equals(metering.UsageRecordedSchema, decoded, expected)).toBe(true);
    expect(Buffer.from(bytes).equals(Buffer.from(toBinary(metering.UsageRecordedSchema, expected)))).toBe(true);
  });

  describe("events with their received bytes (ValidEvent.wire)", () => {
    const received = (e: ValidEvent, timeSent: boolean) =>
      toBinary(
        metering.UsageEventSchema,
        create(metering.UsageEventSchema, { id: e.id, customerId: e.customerId, eventType: e.eventType, properties: e.properties, time: timeSent ? timestampFromDate(e.time) : undefined }),
      );

    it("copies them as fields 1–5, with the time the caller sent", () => {
      const e = event({ id: "é-€-😀", properties: { "modèle": "🤖", tokens: "1532" } });
      const { decoded, expected } = roundTrip([{ ...e, wire: received(e, true) }, event({ id: "evt_2" })]);
      expect(equals(metering.UsageRecordedSchema, decoded, expected)).toBe(true);
    });

    it("adds the receive time when the caller sent none", () => {
      const e = event({ timeGiven: false, time: new Date("2026-03-15T12:00:00.777Z") });
      const { bytes, decoded, expected } = roundTrip([{ ...e, wire: received(e, false) }]);
      expect(decoded.events[0]!.time).toEqual(timestampFromDate(e.time));
      expect(equals(metering.UsageRecordedSchema, decoded, expected)).toBe(true);
      // Same size as encoding every field: only the order of the fields differs.
      expect(bytes.length).toBe(roundTrip([e]).bytes.length);
    });

    it("keeps a repeated property key's last value, as decoding the request did", () => {
      const e = event({ properties: { tokens: "2" } });
      const entry = (value: string) => toBinary(metering.UsageEventSchema, create(metering.UsageEventSchema, { properties: { tokens: value } }));
      const wire = Buffer.concat([received({ ...e, properties: {} }, true), entry("1"), entry("2")]);
      const { decoded, expected } = roundTrip([{ ...e, wire }]);
      expect(decoded.events[0]!.properties).toEqual({ tokens: "2" });
      expect(equals(metering.UsageRecordedSchema, decoded, expected)).toBe(true);
    });
  });

  it("handles 1,000 events with a large message length", () => {
    const events = Array.from({ length: 1000 }, (_, i) => event({ id: `evt_${i}` }));
    const { bytes, decoded, expected } = roundTrip(events);
    expect(bytes.length).toBeGreaterThan(100_000);
    expect(decoded.events).toHaveLength(1000);
    expect(equals(metering.UsageRecordedSchema, decoded, expected)).toBe(true);
  });
});

describe("encodeUsageRecorded's knowledge of the schema", () => {
  // The encoder writes these fields and no others: adding a field to events.proto fails here
  // until the encoder (and the reference above) write it too.
  it.each([
    [metering.UsageRecordedSchema, ["meta", "events", "traceparents"]],
    [metering.RecordedEventSchema, ["id", "customer_id", "event_type", "time", "properties", "record_time", "readings", "trace_index"]],
    [metering.MeterReadingSchema, ["meter_key", "aggregation", "value", "group"]],
  ] as const)("%# has exactly the encoded fields", (schema, names) => {
    expect(schema.fields.map((f) => f.name)).toEqual(names);
  });

  it("numbers UsageEvent's fields as RecordedEvent's first five, so received bytes can be copied", () => {
    const shape = (fields: readonly { name: string; number: number; fieldKind: string }[]) => fields.map((f) => [f.name, f.number, f.fieldKind]);
    expect(shape(metering.UsageEventSchema.fields)).toEqual(shape(metering.RecordedEventSchema.fields.slice(0, 5)));
  });
});

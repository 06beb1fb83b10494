import { fromBinary } from "@bufbuild/protobuf";
import { metering, SUBJECTS } from "@tally/contracts";
import type { ValidEvent } from "../domain/usage-event";
import { meterCreatedMessage, usageRecordedMessages } from "./event-messages";

function events(n: number, propertyBytes = 10): ValidEvent[] {
  const time = new Date("2026-03-15T12:00:00Z");
  return Array.from({ length: n }, (_, i) => ({
    id: `evt_${i}`,
    customerId: "c1",
    eventType: "llm",
    time,
    timeGiven: false,
    properties: { note: "x".repeat(propertyBytes) },
    readings: [],
  }));
}

describe("usageRecordedMessages", () => {
  it("puts at most 1,000 events in a message, each message with its own id", () => {
    const messages = usageRecordedMessages(events(2_500), new Date("2026-03-15T12:00:01Z"));
    const decoded = messages.map((m) => fromBinary(metering.UsageRecordedSchema, m.payload));
    expect(decoded.map((d) => d.events.length)).toEqual([1000, 1000, 500]);
    expect(new Set(messages.map((m) => m.msgId)).size).toBe(3);
    for (const [i, m] of messages.entries()) {
      expect(m.msgId).toMatch(/^usage:[0-9a-f-]{36}$/);
      expect(m.subject).toBe(SUBJECTS.metering.usageRecorded);
      expect(decoded[i]!.meta).toMatchObject({ id: m.msgId, source: "tally.metering", subject: SUBJECTS.metering.usageRecorded });
    }
    expect(decoded.flatMap((d) => d.events.map((e) => e.id))).toEqual(events(2_500).map((e) => e.id));
  });

  it("splits messages that would exceed ~900 kB (NATS allows 1 MB)", () => {
    const big = events(1_000, 2_000); // ~2 MB of properties
    const messages = usageRecordedMessages(big, new Date());
    expect(messages.length).toBeGreaterThan(2);
    for (const m of messages) expect(m.payload.length).toBeLessThanOrEqual(900_000);
    const total = messages.reduce((n, m) => n + fromBinary(metering.UsageRecordedSchema, m.payload).events.length, 0);
    expect(total).toBe(1_000);
  });
});

describe("usageRecordedMessages with the calls' traces", () => {
  const A = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  const B = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  /** Each decoded event's own traceparent, through its message's list. */
  const eventTraceparents = (messages: { payload: Uint8Array }[]) =>
    messages.flatMap((m) => {
      const d = fromBinary(metering.UsageRecordedSchema, m.payload);
      return d.events.map((e) => (e.traceIndex === 0 ? undefined : d.traceparents[e.traceIndex - 1]));
    });

  it("gives every event its own call's trace, listing each trace once per message, across 1,000-event chunks", () => {
    // Calls of 700 events (A), 600 (B) and 900 untraced, in 1,000-event messages.
    const traces = [...Array<string>(700).fill(A), ...Array<string>(600).fill(B), ...Array<undefined>(900).fill(undefined)];
    const messages = usageRecordedMessages(events(2_200), new Date(), traces);
    expect(messages.map((m) => fromBinary(metering.UsageRecordedSchema, m.payload).traceparents)).toEqual([[A, B], [B], []]);
    expect(eventTraceparents(messages)).toEqual(traces);
  });

  it("keeps each event's trace when a message is split by size", () => {
    const traces = Array.from({ length: 1_000 }, (_, i) => (i % 3 === 0 ? A : i % 3 === 1 ? B : undefined));
    const messages = usageRecordedMessages(events(1_000, 2_000), new Date(), traces);
    expect(messages.length).toBeGreaterThan(2);
    expect(eventTraceparents(messages)).toEqual(traces);
  });

  it("writes no trace fields when no call sent a traceparent", () => {
    const untraced = usageRecordedMessages(events(3), new Date("2026-03-15T12:00:01Z"), [undefined, undefined, undefined]);
    const decoded = fromBinary(metering.UsageRecordedSchema, untraced[0]!.payload);
    expect(decoded.traceparents).toEqual([]);
    expect(decoded.events.map((e) => e.traceIndex)).toEqual([0, 0, 0]);
  });
});

describe("meterCreatedMessage", () => {
  it("carries the meter and the number of backfilled events, with an id derived from the key", () => {
    const m = meterCreatedMessage(
      {
        key: "llm_tokens",
        eventType: "llm",
        aggregation: "sum",
        valueProperty: "tokens",
        groupBy: [],
        filters: [],
        allowNegative: false,
        description: "",
        state: "active",
        createTime: new Date("2026-03-15T12:00:00Z"),
        archiveTime: undefined,
      },
      42,
      new Date("2026-03-15T12:00:00Z"),
    );
    const decoded = fromBinary(metering.MeterCreatedSchema, m.payload);
    expect(m.msgId).toBe("meter.created:llm_tokens");
    expect(decoded.meter?.key).toBe("llm_tokens");
    expect(decoded.backfilledEventCount).toBe(42n);
  });
});

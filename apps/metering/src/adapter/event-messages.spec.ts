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

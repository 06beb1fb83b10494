import { fromBinary } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { metering } from "@tally/contracts";
import { encodeRecordBatch } from "./batch-encoder";
import type { ImportEvent } from "./usage-event";

describe("encodeRecordBatch", () => {
  it("encodes what the generated schema decodes, field by field", () => {
    const events: ImportEvent[] = [
      { id: "evt_1", customerId: "cus_42", eventType: "llm.completion", timeMs: Date.parse("2026-11-30T10:00:00.123Z"), properties: [["model", "gpt-4o"], ["tokens", "1250"]] },
      { id: "évt_ü_2", customerId: "cus_✓", eventType: "t", timeMs: undefined, properties: [] },
      { id: "evt_3", customerId: "c", eventType: "t", timeMs: Date.parse("2026-11-30T10:00:00Z"), properties: [["empty", ""], ["long", "x".repeat(300)], ["long_utf8", "ü".repeat(100)]] },
      // 2-, 3- and 4-byte characters, and a lone surrogate (written as U+FFFD)
      { id: "e4", customerId: "ß€😀", eventType: "t\ud800", timeMs: 0, properties: [["emoji😀", "😀x"]] },
    ];
    const decoded = fromBinary(metering.RecordBatchRequestSchema, encodeRecordBatch(events));
    expect(decoded.events).toHaveLength(4);
    decoded.events.forEach((e, i) => {
      const want = events[i]!;
      expect(e.id).toBe(want.id);
      expect(e.customerId).toBe(want.customerId);
      expect(e.eventType).toBe(Buffer.from(want.eventType).toString());
      expect(e.time ? timestampMs(e.time) : undefined).toBe(want.timeMs);
      expect(e.properties).toEqual(Object.fromEntries(want.properties));
    });
  });

  it("encodes times before 1970 as negative seconds with non-negative nanos", () => {
    const decoded = fromBinary(metering.RecordBatchRequestSchema, encodeRecordBatch([{ id: "a", customerId: "c", eventType: "t", timeMs: -1500, properties: [] }]));
    expect(decoded.events[0]!.time).toMatchObject({ seconds: -2n, nanos: 500_000_000 });
  });

  it("encodes an empty batch as an empty message", () => {
    expect(encodeRecordBatch([])).toHaveLength(0);
  });
});

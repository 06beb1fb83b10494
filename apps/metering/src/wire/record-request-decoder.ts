import { WireType } from "@bufbuild/protobuf/wire";
import type { metering } from "@tally/contracts";
import { asBuffer, expectWireType, WireReader } from "./wire-reader";

/**
 * Hand-written protobuf decoders for RecordRequest and RecordBatchRequest, the two messages
 * every usage event arrives in.
 *
 * Why not `fromBinary`: protobuf-es decodes by reflection, ≈ 2.5 µs per UsageEvent here plus
 * the garbage of its intermediate objects — the largest single cost of batched ingest on the
 * server thread. This decoder walks the bytes once and builds the same message objects.
 * Semantics follow the proto3 wire format as protobuf-es reads it: unknown fields are skipped
 * (they are not kept in `$unknown`, nothing reads them) except inside a properties entry, where
 * protobuf-es cannot skip them either, a singular message field that occurs
 * twice is merged, a map key seen twice keeps its last value, missing map keys and values are
 * "". It rejects everything `fromBinary` rejects (see {@link WireReader}, invalid UTF-8
 * included) and, stricter, a known field sent with the wrong wire type instead of misreading it.
 * record-request-decoder.spec.ts compares both with `fromBinary` on random valid and malformed
 * messages, so they cannot drift apart silently; a field added to UsageEvent must be added here too.
 */

/**
 * A UsageEvent as decoded, with `wire`: its bytes as received when they hold only UsageEvent's
 * own fields, once each event (see UsageEventInput.wire) — UsageRecorded copies them instead of
 * encoding the same strings again.
 */
type UsageEvent = metering.UsageEvent & { wire: Uint8Array | undefined };
type Timestamp = NonNullable<UsageEvent["time"]>;

function newUsageEvent(): UsageEvent {
  return { $typeName: "tally.metering.v1.UsageEvent", id: "", customerId: "", eventType: "", time: undefined, properties: {}, wire: undefined };
}

function readTimestamp(r: WireReader, end: number, into: Timestamp | undefined): Timestamp {
  const ts: Timestamp = into ?? { $typeName: "google.protobuf.Timestamp", seconds: 0n, nanos: 0 };
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1:
        expectWireType(tag, WireType.Varint);
        ts.seconds = r.int64();
        break;
      case 2:
        expectWireType(tag, WireType.Varint);
        ts.nanos = r.uint32() | 0;
        break;
      default:
        r.skip(tag);
    }
  }
  r.expectEnd(end, "Timestamp");
  return ts;
}

function readPropertyEntry(r: WireReader, end: number, properties: Record<string, string>): void {
  let key = "";
  let value = "";
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1:
        expectWireType(tag, WireType.LengthDelimited);
        key = r.string();
        break;
      case 2:
        expectWireType(tag, WireType.LengthDelimited);
        value = r.string();
        break;
      default:
        // protobuf-es cannot skip an unknown field in a map entry (it reads the value as tags): refuse it.
        throw new Error(`properties entry: unexpected field ${tag >>> 3} at byte ${r.pos}`);
    }
  }
  r.expectEnd(end, "properties entry");
  properties[key] = value;
}

/**
 * Reads a UsageEvent's fields up to `end` into `event` (merging, as proto does for a repeat).
 * Returns whether every field was one of UsageEvent's (none skipped).
 */
function readUsageEvent(r: WireReader, end: number, event: UsageEvent): boolean {
  let known = true;
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1:
        expectWireType(tag, WireType.LengthDelimited);
        event.id = r.string();
        break;
      case 2:
        expectWireType(tag, WireType.LengthDelimited);
        event.customerId = r.string();
        break;
      case 3:
        expectWireType(tag, WireType.LengthDelimited);
        event.eventType = r.string();
        break;
      case 4:
        expectWireType(tag, WireType.LengthDelimited);
        event.time = readTimestamp(r, r.delimitedEnd(), event.time);
        break;
      case 5:
        expectWireType(tag, WireType.LengthDelimited);
        readPropertyEntry(r, r.delimitedEnd(), event.properties);
        break;
      default:
        known = false;
        r.skip(tag);
    }
  }
  r.expectEnd(end, "UsageEvent");
  return known;
}

/** The next length-delimited UsageEvent, with its bytes when they can be copied as they are. */
function readEventField(r: WireReader, event: UsageEvent): UsageEvent {
  const end = r.delimitedEnd();
  const start = r.pos;
  event.wire = readUsageEvent(r, end, event) ? r.buf.subarray(start, end) : undefined;
  return event;
}

export function decodeRecordBatchRequest(bytes: Uint8Array): metering.RecordBatchRequest {
  const r = new WireReader(asBuffer(bytes));
  const events: UsageEvent[] = [];
  while (r.pos < r.buf.length) {
    const tag = r.tag();
    if (tag >>> 3 === 1) {
      expectWireType(tag, WireType.LengthDelimited);
      events.push(readEventField(r, newUsageEvent()));
    } else r.skip(tag);
  }
  return { $typeName: "tally.metering.v1.RecordBatchRequest", events };
}

export function decodeRecordRequest(bytes: Uint8Array): metering.RecordRequest {
  const r = new WireReader(asBuffer(bytes));
  let event: UsageEvent | undefined;
  while (r.pos < r.buf.length) {
    const tag = r.tag();
    if (tag >>> 3 === 1) {
      expectWireType(tag, WireType.LengthDelimited);
      const repeated = event !== undefined;
      event = readEventField(r, event ?? newUsageEvent());
      // An event sent in several parts (merged): no single part holds it all.
      if (repeated) event.wire = undefined;
    } else r.skip(tag);
  }
  return { $typeName: "tally.metering.v1.RecordRequest", event };
}

import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { metering } from "@tally/contracts";
import * as fc from "fast-check";
import { decodeRecordBatchRequest, decodeRecordRequest } from "./record-request-decoder";

type EventInit = MessageInitShape<typeof metering.UsageEventSchema>;

/** A decoded message as plain data, without the unknown fields protobuf-es keeps (the hand decoder skips them). */
function plain<T extends object>(decoded: T): T {
  return JSON.parse(JSON.stringify(decoded, (key, value: unknown) => (key === "$unknown" || key === "wire" ? undefined : typeof value === "bigint" ? `${value}n` : value)));
}

function batchBytes(events: EventInit[]): Uint8Array {
  return toBinary(metering.RecordBatchRequestSchema, create(metering.RecordBatchRequestSchema, { events }));
}

// U+0000 is refused on purpose (Postgres cannot store it): valid messages hold none.
const text = fc
  .oneof(fc.string({ maxLength: 40 }), fc.string({ unit: "grapheme", maxLength: 20 }), fc.constantFrom("", "gpt-4o", "llm.completion", "ü€😀"))
  .filter((s) => !s.includes("\u0000"));
const int64 = fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: -1n, max: 2n ** 35n }));
const eventArb: fc.Arbitrary<EventInit> = fc.record(
  {
    id: text,
    customerId: text,
    eventType: text,
    time: fc.record({ seconds: int64, nanos: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) }),
    properties: fc.dictionary(text, text, { maxKeys: 6 }),
  },
  { requiredKeys: ["id"] },
);

/** Appends one unknown field of each wire type (numbers 90–94) to a message's bytes. */
function withUnknownFields(bytes: Uint8Array): Uint8Array {
  const w = new BinaryWriter();
  w.raw(bytes);
  w.tag(90, WireType.Varint).uint64(2n ** 63n);
  w.tag(91, WireType.Bit64).fixed64(7n);
  w.tag(92, WireType.LengthDelimited).string("ignored");
  w.tag(93, WireType.Bit32).fixed32(9);
  w.tag(94, WireType.StartGroup).tag(1, WireType.Varint).int32(5).tag(94, WireType.EndGroup);
  return w.finish();
}

describe("decodeRecordBatchRequest", () => {
  it("reads what protobuf-es reads, for any events", () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 8 }), (events) => {
        const bytes = batchBytes(events);
        expect(plain(decodeRecordBatchRequest(bytes))).toEqual(plain(fromBinary(metering.RecordBatchRequestSchema, bytes)));
      }),
      { numRuns: 300 },
    );
  });

  it("reads a typical event to plain message objects", () => {
    const bytes = batchBytes([{ id: "evt_1", customerId: "cust_1", eventType: "llm.completion", time: { seconds: 1_773_576_000n, nanos: 123_000_000 }, properties: { tokens: "1532", model: "gpt-4o" } }]);
    expect(decodeRecordBatchRequest(bytes)).toEqual({
      $typeName: "tally.metering.v1.RecordBatchRequest",
      events: [
        {
          $typeName: "tally.metering.v1.UsageEvent",
          id: "evt_1",
          customerId: "cust_1",
          eventType: "llm.completion",
          time: { $typeName: "google.protobuf.Timestamp", seconds: 1_773_576_000n, nanos: 123_000_000 },
          properties: { tokens: "1532", model: "gpt-4o" },
          wire: expect.any(Uint8Array),
        },
      ],
    });
  });

  it("keeps each event's bytes when they hold only UsageEvent's fields, for UsageRecorded to copy", () => {
    const one = toBinary(metering.UsageEventSchema, create(metering.UsageEventSchema, { id: "a", customerId: "c", properties: { k: "v" } }));
    const withUnknown = Buffer.concat([one, Buffer.from([(9 << 3) | 0, 1])]); // field 9 = 1
    const field = (bytes: Uint8Array) => Buffer.concat([Buffer.from([(1 << 3) | 2, bytes.length]), bytes]);
    const [known, unknown] = decodeRecordBatchRequest(Buffer.concat([field(one), field(withUnknown)])).events as (metering.UsageEvent & { wire?: Uint8Array })[];
    expect(Buffer.from(known!.wire!).equals(Buffer.from(one))).toBe(true);
    expect(unknown!.wire).toBeUndefined();
    // Record with its event sent in two parts (merged): neither part is the whole event.
    const merged = decodeRecordRequest(Buffer.concat([field(one), field(one)])).event as metering.UsageEvent & { wire?: Uint8Array };
    expect(merged.wire).toBeUndefined();
    expect((decodeRecordRequest(field(one)).event as metering.UsageEvent & { wire?: Uint8Array }).wire).toBeDefined();
  });

  it("skips unknown fields of every wire type, at the top and inside events", () => {
    const event = toBinary(metering.UsageEventSchema, create(metering.UsageEventSchema, { id: "a", properties: { k: "v" } }));
    const w = new BinaryWriter();
    w.tag(1, WireType.LengthDelimited).bytes(withUnknownFields(event));
    const bytes = withUnknownFields(w.finish());
    expect(plain(decodeRecordBatchRequest(bytes))).toEqual(plain(fromBinary(metering.RecordBatchRequestSchema, bytes)));
    expect(decodeRecordBatchRequest(bytes).events[0]).toMatchObject({ id: "a", properties: { k: "v" } });
  });

  it("keeps the last value of a repeated map key, and '' for a missing key or value", () => {
    const w = new BinaryWriter();
    w.tag(1, WireType.LengthDelimited).string("a");
    w.tag(5, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string("k").tag(2, WireType.LengthDelimited).string("first").join();
    w.tag(5, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string("k").tag(2, WireType.LengthDelimited).string("last").join();
    w.tag(5, WireType.LengthDelimited).fork().tag(2, WireType.LengthDelimited).string("no key").join();
    w.tag(5, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string("no value").join();
    const batch = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(w.finish()).finish();
    expect(decodeRecordBatchRequest(batch).events[0]!.properties).toEqual({ k: "last", "": "no key", "no value": "" });
    expect(plain(decodeRecordBatchRequest(batch))).toEqual(plain(fromBinary(metering.RecordBatchRequestSchema, batch)));
  });

  it("throws on every truncation that protobuf-es rejects, and agrees with it on the others", () => {
    const bytes = batchBytes([
      { id: "evt_1", customerId: "c", eventType: "t", time: { seconds: -5n, nanos: -1 }, properties: { model: "gpt-4o" } },
      { id: "evt_2", time: { seconds: 2n ** 40n } },
    ]);
    for (let end = 0; end < bytes.length; end++) {
      const cut = bytes.subarray(0, end);
      let expected: unknown;
      try {
        expected = plain(fromBinary(metering.RecordBatchRequestSchema, cut));
      } catch {
        expect(() => decodeRecordBatchRequest(cut)).toThrow();
        continue;
      }
      expect(plain(decodeRecordBatchRequest(cut))).toEqual(expected);
    }
  });

  it("rejects a varint longer than 10 bytes and an unknown wire type", () => {
    expect(() => decodeRecordBatchRequest(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]))).toThrow("invalid varint");
    expect(() => decodeRecordBatchRequest(Uint8Array.from([(3 << 3) | 7]))).toThrow("wire type 7");
  });

  it("rejects a field that runs past the end of the message holding it", () => {
    // A properties entry declared 3 bytes long whose key claims 5: the bytes exist, the entry does not hold them.
    const event = Uint8Array.from([(5 << 3) | 2, 3, (1 << 3) | 2, 5, 0x61, 0x62, 0x63, 0x64, 0x65]);
    const batch = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(event).finish();
    expect(() => decodeRecordBatchRequest(batch)).toThrow("properties entry overran its length");
  });

  it("rejects a known field with the wrong wire type instead of misreading it", () => {
    const bytes = new BinaryWriter().tag(1, WireType.Varint).int32(3).finish();
    expect(() => decodeRecordBatchRequest(bytes)).toThrow("field 1: wire type 0, expected 2");
  });
});

/** Runs both decoders: whatever protobuf-es rejects must be rejected; whatever the hand decoder accepts, protobuf-es reads alike. */
function expectNoLaxerThanFromBinary(bytes: Uint8Array): void {
  let decoded: metering.RecordBatchRequest;
  try {
    decoded = decodeRecordBatchRequest(bytes);
  } catch {
    return; // rejecting is always allowed: stricter than fromBinary on wire types
  }
  expect(plain(decoded)).toEqual(plain(fromBinary(metering.RecordBatchRequestSchema, bytes)));
}

const validBatch = fc.array(eventArb, { minLength: 1, maxLength: 4 }).map(batchBytes);

/** Valid batches with a few bytes overwritten, inserted or cut, as a fuzzer (or a broken client) makes them. */
const mangledBatch = fc
  .tuple(validBatch, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("set", "insert", "cut")), { minLength: 1, maxLength: 4 }))
  .map(([bytes, edits]) => {
    const out = [...bytes];
    for (const [at, value, kind] of edits) {
      const i = out.length === 0 ? 0 : at % out.length;
      if (kind === "set") out[i] = value;
      else if (kind === "insert") out.splice(i, 0, value);
      else out.length = i;
    }
    return Uint8Array.from(out);
  });

/** A batch of one event whose id holds raw bytes (often not UTF-8). */
const rawIdBatch = fc.uint8Array({ minLength: 1, maxLength: 12 }).map((id) => {
  const event = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(id).finish();
  return new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(event).finish();
});

describe("decodeRecordBatchRequest on malformed input", () => {
  it("rejects everything protobuf-es rejects, for random, mangled and non-UTF-8 messages", () => {
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), mangledBatch, rawIdBatch), expectNoLaxerThanFromBinary), { numRuns: 3_000 });
  });

  it("rejects field number 0, as protobuf-es does", () => {
    const bytes = Uint8Array.from([0x02, 0x00]);
    expect(() => fromBinary(metering.RecordBatchRequestSchema, bytes)).toThrow();
    expect(() => decodeRecordBatchRequest(bytes)).toThrow("field no 0");
  });

  it("rejects a tag longer than 32 bits, as protobuf-es does", () => {
    const bytes = Uint8Array.from([0x88, 0x80, 0x80, 0x80, 0x10, 0x00]);
    expect(() => fromBinary(metering.RecordBatchRequestSchema, bytes)).toThrow();
    expect(() => decodeRecordBatchRequest(bytes)).toThrow("overflows uint32");
  });

  it.each([
    ["id", 1],
    ["customer_id", 2],
    ["event_type", 3],
  ])("rejects %s bytes that are not UTF-8 instead of merging them into U+FFFD", (_field, number) => {
    const decode = (last: number) => {
      const event = new BinaryWriter().tag(number, WireType.LengthDelimited).bytes(Uint8Array.from([0x6f, 0x2d, 0x31, last])).finish();
      return decodeRecordBatchRequest(new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(event).finish());
    };
    expect(() => decode(0xff)).toThrow("not valid UTF-8");
    expect(() => decode(0xfe)).toThrow("not valid UTF-8");
    expect(decode(0x32).events).toHaveLength(1);
  });

  it("rejects U+0000 in a string, which Postgres cannot store", () => {
    const bytes = batchBytes([{ id: "evt\u00001", customerId: "c" }]);
    expect(() => decodeRecordBatchRequest(bytes)).toThrow("contains U+0000");
  });

  it("rejects a property value that is not UTF-8", () => {
    const entry = new BinaryWriter().tag(1, WireType.LengthDelimited).string("model").tag(2, WireType.LengthDelimited).bytes(Uint8Array.from([0xc3, 0x28])).finish();
    const event = new BinaryWriter().tag(5, WireType.LengthDelimited).bytes(entry).finish();
    expect(() => decodeRecordBatchRequest(new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(event).finish())).toThrow("not valid UTF-8");
  });

  it("rejects unknown groups nested deeper than protobuf-es allows, without exhausting the stack", () => {
    const depth = 5_000;
    const bytes = Uint8Array.from([...Array<number>(depth).fill((9 << 3) | WireType.StartGroup), ...Array<number>(depth).fill((9 << 3) | WireType.EndGroup)]);
    expect(() => fromBinary(metering.RecordBatchRequestSchema, bytes)).toThrow();
    expect(() => decodeRecordBatchRequest(bytes)).toThrow("nested deeper than 100");
  });
});

describe("decodeRecordRequest", () => {
  it("reads what protobuf-es reads, for any event or none", () => {
    fc.assert(
      fc.property(fc.option(eventArb, { nil: undefined }), (event) => {
        const bytes = toBinary(metering.RecordRequestSchema, create(metering.RecordRequestSchema, { event }));
        expect(plain(decodeRecordRequest(bytes))).toEqual(plain(fromBinary(metering.RecordRequestSchema, bytes)));
      }),
      { numRuns: 200 },
    );
  });

  it("merges an event field that occurs twice, as protobuf does", () => {
    const first = toBinary(metering.RecordRequestSchema, create(metering.RecordRequestSchema, { event: { id: "a", customerId: "c", time: { seconds: 10n, nanos: 5 }, properties: { x: "1", y: "2" } } }));
    const second = toBinary(metering.RecordRequestSchema, create(metering.RecordRequestSchema, { event: { eventType: "t", time: { nanos: 7 }, properties: { y: "3" } } }));
    const bytes = new Uint8Array([...first, ...second]);
    const decoded = decodeRecordRequest(bytes);
    expect(plain(decoded)).toEqual(plain(fromBinary(metering.RecordRequestSchema, bytes)));
    expect(decoded.event).toMatchObject({ id: "a", customerId: "c", eventType: "t", time: { seconds: 10n, nanos: 7 }, properties: { x: "1", y: "3" } });
  });
});

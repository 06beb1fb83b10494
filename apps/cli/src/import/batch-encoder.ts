import type { ImportEvent } from "./usage-event";

/**
 * Encodes a `tally.metering.v1.RecordBatchRequest` in protobuf binary form:
 *   RecordBatchRequest { repeated UsageEvent events = 1; }
 *   UsageEvent { string id = 1; string customer_id = 2; string event_type = 3;
 *                google.protobuf.Timestamp time = 4; map<string, string> properties = 5; }
 *   Timestamp { int64 seconds = 1; int32 nanos = 2; }
 * A map entry is a message { string key = 1; string value = 2; }. The spec beside this file
 * decodes the output with the generated schema, so the two cannot drift apart unnoticed.
 */
export function encodeRecordBatch(events: ImportEvent[]): Buffer {
  const sizes = events.map(eventSize);
  let total = 0;
  for (const size of sizes) total += 1 + varintSize(size) + size;
  const out = new Writer(total);
  for (let i = 0; i < events.length; i++) {
    out.tag(1, LEN);
    out.varint(sizes[i]!);
    writeEvent(out, events[i]!);
  }
  return out.buffer;
}

const VARINT = 0;
const LEN = 2;

function eventSize(e: ImportEvent): number {
  let size = stringField(e.id) + stringField(e.customerId) + stringField(e.eventType);
  if (e.timeMs !== undefined) {
    const t = timestampSize(e.timeMs);
    size += 1 + varintSize(t) + t;
  }
  for (const [key, value] of e.properties) {
    const entry = stringField(key) + stringField(value);
    size += 1 + varintSize(entry) + entry;
  }
  return size;
}

function writeEvent(out: Writer, e: ImportEvent): void {
  out.string(1, e.id);
  out.string(2, e.customerId);
  out.string(3, e.eventType);
  if (e.timeMs !== undefined) {
    const { seconds, nanos } = splitTime(e.timeMs);
    out.tag(4, LEN);
    out.varint(timestampSize(e.timeMs));
    if (seconds !== 0) {
      out.tag(1, VARINT);
      out.varint(seconds);
    }
    if (nanos !== 0) {
      out.tag(2, VARINT);
      out.varint(nanos);
    }
  }
  for (const [key, value] of e.properties) {
    out.tag(5, LEN);
    out.varint(stringField(key) + stringField(value));
    out.string(1, key);
    out.string(2, value);
  }
}

/** Proto3 omits empty strings and zero numbers. */
function stringField(value: string): number {
  if (value === "") return 0;
  const bytes = utf8Length(value);
  return 1 + varintSize(bytes) + bytes;
}

/**
 * UTF-8 byte length, counted in JavaScript: ids, types and property values are short, and for
 * short strings a native Buffer.byteLength call costs more than the loop.
 */
function utf8Length(value: string): number {
  if (value.length > SHORT) return Buffer.byteLength(value);
  let bytes = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4; // a surrogate pair is one 4-byte character
      i++;
    } else bytes += 3; // lone surrogates become U+FFFD, 3 bytes, as Buffer writes them
  }
  return bytes;
}

/** Strings up to this many UTF-16 units are measured and, when ASCII, copied in JavaScript. */
const SHORT = 64;

function splitTime(ms: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1_000_000 };
}

function timestampSize(ms: number): number {
  const { seconds, nanos } = splitTime(ms);
  return (seconds !== 0 ? 1 + varintSize(seconds) : 0) + (nanos !== 0 ? 1 + varintSize(nanos) : 0);
}

/** Bytes of a non-negative varint (event times before 1970 are rejected by the server anyway). */
function varintSize(n: number): number {
  if (n < 0) return 10; // negative int64: two's complement, always 10 bytes
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

class Writer {
  readonly buffer: Buffer;
  private pos = 0;

  constructor(size: number) {
    this.buffer = Buffer.allocUnsafe(size);
  }

  tag(field: number, wireType: number): void {
    this.buffer[this.pos++] = (field << 3) | wireType;
  }

  varint(n: number): void {
    if (n < 0) {
      this.negativeVarint(n);
      return;
    }
    while (n >= 128) {
      this.buffer[this.pos++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    this.buffer[this.pos++] = n;
  }

  string(field: number, value: string): void {
    if (value === "") return;
    this.tag(field, LEN);
    const bytes = utf8Length(value);
    this.varint(bytes);
    if (bytes === value.length && bytes <= SHORT) {
      // ASCII (one byte per unit): copy the units; cheaper than a native write for short strings.
      for (let i = 0; i < bytes; i++) this.buffer[this.pos + i] = value.charCodeAt(i);
      this.pos += bytes;
    } else this.pos += this.buffer.write(value, this.pos, "utf8");
  }

  private negativeVarint(n: number): void {
    let v = BigInt.asUintN(64, BigInt(n));
    for (let i = 0; i < 9; i++) {
      this.buffer[this.pos++] = Number(v & 127n) | 128;
      v >>= 7n;
    }
    this.buffer[this.pos++] = Number(v);
  }
}

import { isUtf8 } from "node:buffer";
import { WireType } from "@bufbuild/protobuf/wire";

/** How deep groups may nest in skipped unknown fields: protobuf-es's default recursion limit. */
const MAX_GROUP_DEPTH = 100;

/**
 * Reads the proto3 wire format for metering's hand-written decoders. It rejects exactly what
 * protobuf-es `fromBinary` rejects — field number 0, wire types 6 and 7, tags over 32 bits,
 * truncated fields, unmatched end-group tags, groups nested deeper than 100, strings that are
 * not valid UTF-8 — so a request the server accepts here is one `fromBinary` accepts too. It
 * also refuses U+0000 in a string, which Postgres cannot store.
 * Messages: what went wrong and at which byte; the platform names the field for the caller.
 */
export class WireReader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  /** A field tag (number << 3 | wire type), checked as protobuf-es checks it. */
  tag(): number {
    const start = this.pos;
    const tag = this.uint32();
    const length = this.pos - start;
    if (length > 5 || (length === 5 && this.buf[this.pos - 1]! > 0x0f)) throw new Error(`illegal tag at byte ${start}: varint overflows uint32`);
    if (tag >>> 3 === 0 || (tag & 7) > WireType.Bit32) throw new Error(`illegal tag at byte ${start}: field no ${tag >>> 3} wire type ${tag & 7}`);
    return tag;
  }

  /** A varint's low 32 bits, unsigned (lengths, enums); consumes up to 10 bytes. */
  uint32(): number {
    const buf = this.buf;
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result |= (b & 0x7f) << shift;
      if (b < 0x80) return result >>> 0;
    }
    // Bits above 32 are dropped (what protobuf does for int32); the varint still ends by byte 10.
    for (let i = 5; i < 10; i++) if (this.byte() < 0x80) return result >>> 0;
    throw new Error(`invalid varint at byte ${this.pos} of ${buf.length}`);
  }

  /** An int64 varint as bigint (two's complement, as protobuf encodes negative values). */
  int64(): bigint {
    let lo = 0;
    let hi = 0;
    let b = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      b = this.byte();
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) return BigInt(lo >>> 0);
    }
    b = this.byte();
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x7f) >> 4;
    // Bytes 6 to 10; of the 10th only the lowest bit is part of a 64-bit value.
    for (let shift = 3; b >= 0x80 && shift < 32; shift += 7) {
      b = this.byte();
      hi |= (b & 0x7f) << shift;
    }
    if (b >= 0x80) throw new Error(`invalid varint at byte ${this.pos} of ${this.buf.length}`);
    if (hi >= 0 && hi < 0x200000) return BigInt(hi * 0x1_0000_0000 + (lo >>> 0)); // exact below 2^53
    return BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
  }

  /** End offset of a length-delimited field whose length comes next. */
  delimitedEnd(): number {
    const len = this.uint32();
    const end = this.pos + len;
    if (end > this.buf.length) throw new Error(`premature end of message: field of ${len} bytes at byte ${this.pos} of ${this.buf.length}`);
    return end;
  }

  /** A nested message must end exactly where its length said: a field running past it is malformed. */
  expectEnd(end: number, message: string): void {
    if (this.pos !== end) throw new Error(`${message} overran its length at byte ${this.pos}`);
  }

  /**
   * A string field. Invalid UTF-8 is an error, never replaced by U+FFFD: two distinct byte
   * strings would otherwise decode to one text, and two events or customers merge into one.
   */
  string(): string {
    const start = this.pos;
    const end = this.delimitedEnd();
    const buf = this.buf;
    // ASCII needs no validation; the scan costs less than the native check for short strings.
    // U+0000 is refused too: Postgres cannot store it in text (the platform names the field).
    let ascii = true;
    for (let i = this.pos; i < end; i++) {
      const b = buf[i]!;
      if (b === 0) throw new Error(`string at byte ${start} contains U+0000`);
      if (b >= 0x80) ascii = false;
    }
    if (!ascii && !isUtf8(buf.subarray(this.pos, end))) throw new Error(`string at byte ${start} is not valid UTF-8`);
    const s = buf.toString("utf8", this.pos, end);
    this.pos = end;
    return s;
  }

  /** Skips the value of an unknown field. */
  skip(tag: number, depth = 0): void {
    const wireType = tag & 7;
    switch (wireType) {
      case WireType.Varint:
        while (this.byte() >= 0x80);
        return;
      case WireType.Bit64:
        this.advance(8);
        return;
      case WireType.LengthDelimited:
        this.pos = this.delimitedEnd();
        return;
      case WireType.Bit32:
        this.advance(4);
        return;
      case WireType.StartGroup:
        if (depth >= MAX_GROUP_DEPTH) throw new Error(`groups nested deeper than ${MAX_GROUP_DEPTH} at byte ${this.pos}`);
        for (;;) {
          const inner = this.tag();
          if ((inner & 7) === WireType.EndGroup) {
            if (inner >>> 3 !== tag >>> 3) throw new Error(`invalid end group tag at byte ${this.pos}`);
            return;
          }
          this.skip(inner, depth + 1);
        }
      default:
        throw new Error(`unexpected wire type ${wireType} at byte ${this.pos}`);
    }
  }

  private byte(): number {
    if (this.pos >= this.buf.length) throw new Error(`premature end of message at byte ${this.pos}`);
    return this.buf[this.pos++]!;
  }

  private advance(n: number): void {
    if (this.pos + n > this.buf.length) throw new Error(`premature end of message at byte ${this.pos}`);
    this.pos += n;
  }
}

export function expectWireType(tag: number, wireType: WireType): void {
  if ((tag & 7) !== wireType) throw new Error(`field ${tag >>> 3}: wire type ${tag & 7}, expected ${wireType}`);
}

export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

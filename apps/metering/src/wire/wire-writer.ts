/**
 * Writes the proto3 wire format for metering's hand-written encoders, which compute every
 * length first and then fill one buffer of exactly that size in a single pass (see
 * usage-recorded-encoder.ts for why). Tags are single bytes: every field number used is below 16.
 */

/** UTF-8 length of a string (what Buffer.byteLength computes, without the native call). */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2; // 4 bytes for 2 UTF-16 units
        i++;
      } else n += 2; // lone surrogate: 3 bytes (U+FFFD)
    } else n += 2;
  }
  return n;
}

export function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  if (v < 2 ** 35) return 5;
  if (v < 2 ** 42) return 6;
  if (v < 2 ** 49) return 7;
  return 8; // < 2^53 (safe integers)
}

export class WireWriter {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  varint(v: number): void {
    const buf = this.buf;
    while (v >= 0x80) {
      buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    buf[this.pos++] = v;
  }

  negativeInt64(v: number): void {
    let big = BigInt.asUintN(64, BigInt(v));
    for (let i = 0; i < 9; i++) {
      this.buf[this.pos++] = Number(big & 0x7fn) | 0x80;
      big >>= 7n;
    }
    this.buf[this.pos++] = Number(big);
  }

  /** Tag, length and UTF-8 bytes; `len` is the string's UTF-8 length. */
  string(tag: number, s: string, len: number): void {
    const buf = this.buf;
    buf[this.pos++] = tag;
    this.varint(len);
    if (len === s.length) {
      // ASCII: a JS loop beats the native call for the short strings events are made of.
      for (let i = 0; i < s.length; i++) buf[this.pos++] = s.charCodeAt(i);
    } else {
      this.pos += buf.write(s, this.pos, len, "utf8");
    }
  }

  /** Raw bytes, already encoded. */
  bytes(b: Uint8Array): void {
    if (b.length < 64) for (let i = 0; i < b.length; i++) this.buf[this.pos++] = b[i]!;
    else {
      this.buf.set(b, this.pos);
      this.pos += b.length;
    }
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }
}

import { isUtf8 } from "node:buffer";
import { fromBinary, ScalarType, type DescField, type DescMessage, type Message } from "@bufbuild/protobuf";
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { Code, InvalidArgumentError, TallyError, type FieldViolation } from "../errors/errors";

/** protobuf-es's default: deeper nesting is refused rather than exhausting the stack. */
const MAX_DEPTH = 100;

/**
 * Decodes a request body after the caller is authorized. Bytes that are not a valid message
 * (truncated, a field number 0, a wrong wire type, a string that is not UTF-8 — protobuf-es
 * refuses those, as `string` fields must be UTF-8 — or that holds U+0000) answer
 * INVALID_ARGUMENT naming the field, never INTERNAL.
 */
export function decodeRequest<T>(schema: DescMessage, bytes: Uint8Array, decode?: (bytes: Uint8Array) => T): T {
  try {
    if (decode) return decode(bytes); // a hand-written decoder refuses U+0000 itself (RequestDecoders)
    const request = fromBinary(schema, bytes) as T;
    // A NUL character is valid UTF-8 but Postgres cannot store it in text: refuse it here,
    // naming the field, rather than failing in SQL. Only bodies holding a zero byte are looked
    // at (common: protobufjs clients encode a bool set to false as 0x00), and then first the
    // decoded strings (holdsNul, a few property reads); the bytes are walked to name the field
    // only when one holds U+0000. Walking every such body cost ≈ 3 % of limits' CPU per Check.
    if (bytes.includes(0) && holdsNul(schema, request)) {
      const violation = locateMalformedField(schema, bytes);
      if (violation) throw new InvalidArgumentError(violation, "malformed_request");
    }
    return request;
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw err;
    const violation = locateMalformedField(schema, bytes) ?? {
      field: "request",
      code: "malformed",
      message: `is not a valid ${schema.typeName}: ${err instanceof Error ? err.message : String(err)}`,
    };
    throw new InvalidArgumentError(violation, "malformed_request");
  }
}

type NulCheck = (message: Record<string, unknown>) => boolean;
const nulChecks = new WeakMap<DescMessage, NulCheck>();

/**
 * Whether any string of a decoded message (nested messages, lists, map keys and values, oneofs
 * included) holds U+0000. Compiled once per schema into plain property reads: what
 * {@link findNulCharacter} finds, without the reflection API, and without naming the field.
 */
export function holdsNul(schema: DescMessage, message: unknown): boolean {
  return nulCheckOf(schema)(message as Record<string, unknown>);
}

function nulCheckOf(schema: DescMessage): NulCheck {
  const known = nulChecks.get(schema);
  if (known) return known;
  const parts: NulCheck[] = [];
  const check: NulCheck = (m) => {
    for (const part of parts) if (part(m)) return true;
    return false;
  };
  nulChecks.set(schema, check); // before the fields: a message may contain itself
  const stringHasNul = (v: unknown) => typeof v === "string" && v.includes("\0");
  // A message-typed value, or a wrapper type protobuf-es unboxes (StringValue as a string).
  const valueHasNul = (desc: DescMessage, v: unknown) =>
    typeof v === "string" ? v.includes("\0") : typeof v === "object" && v !== null && nulCheckOf(desc)(v as Record<string, unknown>);
  for (const field of schema.fields) {
    const oneof = field.oneof;
    const read: (m: Record<string, unknown>) => unknown = oneof
      ? (m) => {
          const o = m[oneof.localName] as { case?: string; value?: unknown } | undefined;
          return o?.case === field.localName ? o.value : undefined;
        }
      : (m) => m[field.localName];
    switch (field.fieldKind) {
      case "scalar":
        if (field.scalar === ScalarType.STRING) parts.push((m) => stringHasNul(read(m)));
        break;
      case "message":
        parts.push((m) => valueHasNul(field.message, read(m)));
        break;
      case "list":
        if (field.listKind === "scalar" && field.scalar === ScalarType.STRING) parts.push((m) => ((read(m) as unknown[] | undefined) ?? []).some(stringHasNul));
        else if (field.listKind === "message") parts.push((m) => ((read(m) as unknown[] | undefined) ?? []).some((v) => valueHasNul(field.message, v)));
        break;
      case "map": {
        const keyIsString = field.mapKey === ScalarType.STRING;
        const valueCheck =
          field.mapKind === "message"
            ? (v: unknown) => valueHasNul(field.message, v)
            : field.mapKind === "scalar" && field.scalar === ScalarType.STRING
              ? stringHasNul
              : undefined;
        if (!keyIsString && !valueCheck) break;
        parts.push((m) => {
          const map = read(m) as Record<string, unknown> | undefined;
          if (!map) return false;
          for (const key in map) if ((keyIsString && key.includes("\0")) || valueCheck?.(map[key])) return true;
          return false;
        });
        break;
      }
    }
  }
  return check;
}

/** A request above the server's maximum message size (proto/README.md documents it). */
export class MessageTooLargeError extends TallyError {
  constructor(size: number, maxBytes: number) {
    super(
      Code.ResourceExhausted,
      "message_too_large",
      `request is ${size} bytes; the maximum message size is ${maxBytes} bytes: split it`,
      [{ field: "request", code: "message_too_large", message: `is ${size} bytes, over the maximum of ${maxBytes}` }],
      { metadata: { max_bytes: String(maxBytes), request_bytes: String(size) } },
    );
  }
}

/**
 * Walks a body that failed to decode, by its descriptor, to say which field is wrong: the
 * path uses proto field names, 0-based indexes and map keys in brackets
 * (`events[3].properties[model]`). Runs only on failure, so it costs the good path nothing.
 * Undefined when the walk finds nothing wrong.
 */
export function locateMalformedField(schema: DescMessage, bytes: Uint8Array): FieldViolation | undefined {
  return walkMessage(schema, new BinaryReader(bytes), bytes.length, "", 0);
}

function walkMessage(desc: DescMessage, reader: BinaryReader, end: number, path: string, depth: number): FieldViolation | undefined {
  const fieldOrRequest = path || "request";
  if (depth > MAX_DEPTH) return malformed(fieldOrRequest, `nests messages deeper than ${MAX_DEPTH}`);
  const seen = new Map<number, number>();
  while (reader.pos < end) {
    let fieldNo: number;
    let wireType: WireType;
    try {
      [fieldNo, wireType] = reader.tag();
    } catch (err) {
      return malformed(fieldOrRequest, errorText(err));
    }
    const field = desc.fields.find((f) => f.number === fieldNo);
    if (!field) {
      const skipped = attempt(fieldOrRequest, () => reader.skip(wireType, fieldNo, MAX_DEPTH - depth));
      if (skipped) return skipped;
      continue;
    }
    const index = seen.get(fieldNo) ?? 0;
    seen.set(fieldNo, index + 1);
    const name = path ? `${path}.${field.name}` : field.name;
    const found = walkField(field, wireType, reader, field.fieldKind === "list" ? `${name}[${index}]` : name, name, depth);
    if (found) return found;
  }
  if (reader.pos > end) return malformed(fieldOrRequest, "overruns its length");
  return undefined;
}

function walkField(field: DescField, wireType: WireType, reader: BinaryReader, where: string, name: string, depth: number): FieldViolation | undefined {
  switch (field.fieldKind) {
    case "scalar":
      return walkScalar(field.scalar, wireType, reader, where);
    case "enum":
      return expectWire(wireType, WireType.Varint, where) ?? attempt(where, () => reader.skip(wireType));
    case "message":
      return expectWire(wireType, WireType.LengthDelimited, where) ?? walkNested(field.message, reader, where, depth);
    case "list":
      if (field.listKind === "message") return expectWire(wireType, WireType.LengthDelimited, where) ?? walkNested(field.message, reader, where, depth);
      if (field.listKind === "enum") return attempt(where, () => reader.skip(wireType));
      // A packed run of numbers is one length-delimited field; strings and bytes never pack.
      if (wireType === WireType.LengthDelimited && field.scalar !== ScalarType.STRING && field.scalar !== ScalarType.BYTES) {
        return attempt(where, () => reader.skip(wireType));
      }
      return walkScalar(field.scalar, wireType, reader, where);
    case "map":
      return expectWire(wireType, WireType.LengthDelimited, where) ?? walkMapEntry(field, reader, name, depth);
  }
}

function walkScalar(scalar: ScalarType, wireType: WireType, reader: BinaryReader, where: string): FieldViolation | undefined {
  const wrongWire = expectWire(wireType, wireTypeOf(scalar), where);
  if (wrongWire) return wrongWire;
  if (scalar !== ScalarType.STRING) return attempt(where, () => reader.skip(wireType));
  let bytes: Uint8Array | undefined;
  const failed = attempt(where, () => (bytes = reader.bytes()));
  if (failed) return failed;
  if (!isUtf8(bytes!)) return notUtf8(where);
  return bytes!.includes(0) ? { field: where, code: "nul_character", message: "contains U+0000, which no string field may hold" } : undefined;
}

function walkNested(desc: DescMessage, reader: BinaryReader, where: string, depth: number): FieldViolation | undefined {
  let body: Uint8Array | undefined;
  const failed = attempt(where, () => (body = reader.bytes()));
  if (failed) return failed;
  return walkMessage(desc, new BinaryReader(body!), body!.length, where, depth + 1);
}

function walkMapEntry(field: DescField & { fieldKind: "map" }, reader: BinaryReader, name: string, depth: number): FieldViolation | undefined {
  let body: Uint8Array | undefined;
  const failed = attempt(name, () => (body = reader.bytes()));
  if (failed) return failed;
  const entry = new BinaryReader(body!);
  let key = "";
  let value: Uint8Array | undefined;
  let valueWire: WireType = WireType.LengthDelimited;
  while (entry.pos < body!.length) {
    let fieldNo: number;
    let wireType: WireType;
    try {
      [fieldNo, wireType] = entry.tag();
    } catch (err) {
      return malformed(name, errorText(err));
    }
    if (fieldNo === 1 && field.mapKey === ScalarType.STRING) {
      let keyBytes: Uint8Array | undefined;
      const keyProblem = expectWire(wireType, WireType.LengthDelimited, `${name} key`) ?? attempt(name, () => (keyBytes = entry.bytes()));
      if (keyProblem) return keyProblem;
      if (!isUtf8(keyBytes!)) return notUtf8(`${name} key`);
      if (keyBytes!.includes(0)) return { field: `${name} key`, code: "nul_character", message: "contains U+0000, which no string field may hold" };
      key = Buffer.from(keyBytes!).toString("utf8");
    } else if (fieldNo === 1) {
      const keyProblem = walkScalar(field.mapKey, wireType, entry, `${name} key`);
      if (keyProblem) return keyProblem;
    } else if (fieldNo === 2) {
      const start = entry.pos;
      valueWire = wireType;
      const skipped = attempt(`${name}[${key}]`, () => entry.skip(wireType));
      if (skipped) return skipped;
      value = body!.subarray(start, entry.pos);
    } else return malformed(name, `has an unexpected field ${fieldNo} in a map entry`);
  }
  if (value === undefined) return undefined;
  const where = `${name}[${key}]`;
  const valueReader = new BinaryReader(value);
  if (field.mapKind === "message") return expectWire(valueWire, WireType.LengthDelimited, where) ?? walkNested(field.message, valueReader, where, depth);
  if (field.mapKind === "enum") return expectWire(valueWire, WireType.Varint, where);
  return walkScalar(field.scalar, valueWire, valueReader, where);
}

function wireTypeOf(scalar: ScalarType): WireType {
  switch (scalar) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WireType.LengthDelimited;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WireType.Bit64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WireType.Bit32;
    default:
      return WireType.Varint;
  }
}

function expectWire(actual: WireType, expected: WireType, where: string): FieldViolation | undefined {
  return actual === expected ? undefined : malformed(where, `has wire type ${actual}, expected ${expected}`);
}

function attempt(where: string, read: () => unknown): FieldViolation | undefined {
  try {
    read();
    return undefined;
  } catch (err) {
    return malformed(where, errorText(err));
  }
}

function notUtf8(field: string): FieldViolation {
  return { field, code: "invalid_utf8", message: "is not valid UTF-8 (protobuf string fields must be)" };
}

function malformed(field: string, problem: string): FieldViolation {
  return { field, code: "malformed", message: `is malformed: ${problem}` };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The path of the first string holding U+0000 in a decoded message (for bodies decoded elsewhere,
 * e.g. Connect JSON), undefined if none does. Paths are named as by {@link locateMalformedField}.
 */
export function findNulCharacter(schema: DescMessage, message: unknown): string | undefined {
  return nulIn(reflect(schema, message as Message), "");
}

function nulIn(message: ReflectMessage, path: string): string | undefined {
  const hasNul = (value: unknown) => typeof value === "string" && value.includes("\0");
  for (const field of message.fields) {
    if (!message.isSet(field)) continue;
    const name = path ? `${path}.${field.name}` : field.name;
    switch (field.fieldKind) {
      case "scalar":
        if (hasNul(message.get(field))) return name;
        break;
      case "message": {
        const found = nulIn(message.get(field), name);
        if (found) return found;
        break;
      }
      case "list": {
        let index = 0;
        for (const item of message.get(field)) {
          const where = `${name}[${index++}]`;
          const found = field.listKind === "message" ? nulIn(item as ReflectMessage, where) : hasNul(item) ? where : undefined;
          if (found) return found;
        }
        break;
      }
      case "map":
        for (const [key, value] of message.get(field)) {
          if (hasNul(key)) return `${name} key`;
          const where = `${name}[${String(key)}]`;
          const found = field.mapKind === "message" ? nulIn(value as ReflectMessage, where) : hasNul(value) ? where : undefined;
          if (found) return found;
        }
        break;
    }
  }
  return undefined;
}

import { ScalarType, type DescEnum, type DescField, type DescMessage } from "@bufbuild/protobuf";

/** One place a file does not fit the message: the path as the services print it, and the raw keys to find it in the file. */
export interface ShapeViolation {
  /** e.g. `plan.components[0].price.graduated.tiers[1].up_to`: proto field names, like the services' ErrorDetail. */
  field: string;
  /** The keys and indexes as written in the file (camelCase or snake_case), to locate the value. */
  keys: (string | number)[];
  description: string;
}

type Json = unknown;

/**
 * Every way `json` misses the proto3 JSON mapping of `schema`, each named by its field path, so a
 * file's mistakes read like the services' validation (`plan.components[0].price.graduated.tiers[1].up_to`)
 * instead of protobuf-es's first message. Checks shape only (unknown fields, types, enum names,
 * one member per oneof); what the values mean is the service's to judge. Well-known types
 * (Timestamp, Duration…) are left to the JSON parser.
 */
export function jsonShapeViolations(schema: DescMessage, json: Json, root: string): ShapeViolation[] {
  const out: ShapeViolation[] = [];
  checkMessage(schema, json, root, [], out);
  return out;
}

function checkMessage(schema: DescMessage, json: Json, path: string, keys: (string | number)[], out: ShapeViolation[]): void {
  if (schema.typeName.startsWith("google.protobuf.")) return;
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    out.push({ field: path, keys, description: `must be an object (${schema.name}), got ${describe(json)}` });
    return;
  }
  const byName = new Map<string, DescField>();
  for (const f of schema.fields) {
    byName.set(f.name, f);
    byName.set(f.jsonName, f);
  }
  const oneofSeen = new Map<string, string>();
  for (const [key, value] of Object.entries(json)) {
    const field = byName.get(key);
    if (!field) {
      out.push({ field: `${path}.${key}`, keys: [...keys, key], description: `unknown field; ${schema.name} has ${schema.fields.map((f) => f.name).join(", ")}` });
      continue;
    }
    const at = `${path}.${field.name}`;
    const k = [...keys, key];
    if (value === null) continue; // proto3 JSON: null is the default value
    if (field.oneof) {
      const other = oneofSeen.get(field.oneof.name);
      if (other) out.push({ field: at, keys: k, description: `only one of ${field.oneof.fields.map((f) => f.name).join(", ")} may be set (${other} is too)` });
      oneofSeen.set(field.oneof.name, field.name);
    }
    checkField(field, value, at, k, out);
  }
}

function checkField(field: DescField, value: Json, path: string, keys: (string | number)[], out: ShapeViolation[]): void {
  switch (field.fieldKind) {
    case "scalar":
      return checkScalar(field.scalar, value, path, keys, out);
    case "enum":
      return checkEnum(field.enum, value, path, keys, out);
    case "message":
      return checkMessage(field.message, value, path, keys, out);
    case "list":
      if (!Array.isArray(value)) {
        out.push({ field: path, keys, description: `must be a list, got ${describe(value)}` });
        return;
      }
      value.forEach((item: Json, i) => {
        const at = `${path}[${i}]`;
        const k = [...keys, i];
        if (field.listKind === "scalar") checkScalar(field.scalar, item, at, k, out);
        else if (field.listKind === "enum") checkEnum(field.enum, item, at, k, out);
        else checkMessage(field.message, item, at, k, out);
      });
      return;
    case "map":
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        out.push({ field: path, keys, description: `must be a map, got ${describe(value)}` });
        return;
      }
      for (const [key, item] of Object.entries(value)) {
        const at = `${path}[${key}]`;
        const k = [...keys, key];
        if (field.mapKind === "scalar") checkScalar(field.scalar, item, at, k, out);
        else if (field.mapKind === "enum") checkEnum(field.enum, item, at, k, out);
        else checkMessage(field.message, item, at, k, out);
      }
  }
}

function checkScalar(type: ScalarType, value: Json, path: string, keys: (string | number)[], out: ShapeViolation[]): void {
  const fail = (expected: string) => out.push({ field: path, keys, description: `must be ${expected}, got ${describe(value)}` });
  switch (type) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      // Decimals are strings on the wire: a JSON number here would lose digits, so it is refused.
      if (typeof value !== "string") fail(typeof value === "number" ? `a string (decimals are written as strings, e.g. "${value}")` : "a string");
      return;
    case ScalarType.BOOL:
      if (typeof value !== "boolean") fail("true or false");
      return;
    default:
      // Integers and floats: a number, or its text (the JSON mapping allows both).
      if (typeof value === "number" ? !Number.isFinite(value) : typeof value !== "string" || !/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value)) fail("a number");
  }
}

function checkEnum(type: DescEnum, value: Json, path: string, keys: (string | number)[], out: ShapeViolation[]): void {
  if (typeof value === "number" && type.values.some((v) => v.number === value)) return;
  if (typeof value === "string" && type.values.some((v) => v.name === value)) return;
  const names = type.values.filter((v) => v.number !== 0).map((v) => v.name);
  out.push({ field: path, keys, description: `must be one of ${names.join(", ")}, got ${describe(value)}` });
}

function describe(value: Json): string {
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  return JSON.stringify(value);
}

import { parseEventTime, propertyValue } from "./event-fields";
import { LineParseError } from "./line-parse-error";
import { parseNdjsonFast } from "./ndjson-fast-path";
import type { ImportEvent } from "./usage-event";

/**
 * One NDJSON line: `{"id", "customer_id", "event_type", "time"?, "properties"?}` (the proto
 * JSON names `customerId` and `eventType` are accepted too). Whether the values are valid
 * (required, lengths, decimals for a meter) is the server's call: it names the field.
 */
export function parseNdjsonLine(line: string): ImportEvent {
  return parseNdjsonFast(line) ?? parseNdjsonJson(line);
}

/** Any line, through JSON.parse: the reference the fast path (ndjson-fast-path.ts) must agree with. */
export function parseNdjsonJson(line: string): ImportEvent {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new LineParseError(`not JSON: ${(err as Error).message}`, "invalid_json");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new LineParseError("not a JSON object", "invalid_json");
  const o = value as Record<string, unknown>;
  const properties: [string, string][] = [];
  const props = o.properties;
  if (props !== undefined && props !== null) {
    if (typeof props !== "object" || Array.isArray(props)) throw new LineParseError("properties must be an object", "invalid_property");
    for (const name in props) properties.push([name, propertyValue(name, (props as Record<string, unknown>)[name])]);
  }
  return {
    id: text(o, "id", "id"),
    customerId: text(o, "customer_id", "customerId"),
    eventType: text(o, "event_type", "eventType"),
    timeMs: parseEventTime(o.time),
    properties,
  };
}

function text(o: Record<string, unknown>, name: string, jsonName: string): string {
  const value = o[name] ?? o[jsonName];
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw new LineParseError(`${name} must be a string`, "invalid_type");
  return value;
}

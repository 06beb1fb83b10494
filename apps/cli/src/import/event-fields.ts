import { LineParseError } from "./line-parse-error";

/**
 * Event time from a file: RFC 3339 text, or epoch milliseconds as a number. Empty or absent
 * means "now" on the server.
 */
export function parseEventTime(value: unknown): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "number") {
    if (Number.isSafeInteger(value)) return value;
  } else if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}T/.test(value)) {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new LineParseError(`time ${JSON.stringify(value)} is neither an RFC 3339 time nor epoch milliseconds`, "invalid_timestamp");
}

/**
 * A property value as the decimal or plain string the API takes. JSON numbers are accepted when
 * their shortest text is plain notation (e.g. 1250, 0.25): that is the number as written for
 * every value a double holds exactly enough; others (1e21, 2^53 + 1) must be quoted strings so
 * no digit is lost.
 */
export function propertyValue(name: string, value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) {
    const text = String(value);
    if (!text.includes("e") && (!Number.isInteger(value) || Number.isSafeInteger(value))) return text;
    throw new LineParseError(`properties.${name}: number ${text} cannot be taken exactly; write it as a string`, "invalid_decimal");
  }
  if (typeof value === "boolean") return String(value);
  throw new LineParseError(`properties.${name} must be a string, number or boolean`, "invalid_property");
}

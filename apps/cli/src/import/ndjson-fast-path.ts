import { parseEventTime } from "./event-fields";
import type { ImportEvent } from "./usage-event";

/**
 * The common NDJSON line read without JSON.parse: one flat object whose known fields are strings
 * without escapes, and whose properties are strings, plain numbers or booleans. That is nearly
 * every line a usage export holds, and reading it straight into an ImportEvent costs about a
 * third of JSON.parse plus walking the object it builds (measured on the bench's lines).
 *
 * Returns undefined for anything else (escapes, control characters, null, nested values, unknown
 * or repeated keys, property names that start with a digit, a number as time, malformed JSON):
 * parseNdjsonLine then takes the JSON.parse path, so whatever this reads, both read alike and
 * every error is reported the same way. ndjson-fast-path.spec.ts checks that on generated lines.
 */
export function parseNdjsonFast(line: string): ImportEvent | undefined {
  let i = skipSpace(line, 0);
  if (line.charCodeAt(i) !== OPEN_BRACE) return undefined;
  i = skipSpace(line, i + 1);
  let id: string | undefined;
  let customerId: string | undefined;
  let customerIdJson: string | undefined;
  let eventType: string | undefined;
  let eventTypeJson: string | undefined;
  // The time's place in the line: read there, without a string of its own, when it is the usual form.
  let timeStart = -1;
  let timeEnd = -1;
  let properties: [string, string][] | undefined;
  if (line.charCodeAt(i) === CLOSE_BRACE) return finish(line, i, "", "", "", -1, -1, []);
  for (;;) {
    if (line.charCodeAt(i) !== QUOTE) return undefined;
    const keyEnd = stringEnd(line, i + 1);
    if (keyEnd < 0) return undefined;
    // Keys are matched in place: no string is made for them.
    const key = knownKey(line, i + 1, keyEnd);
    i = skipSpace(line, keyEnd + 1);
    if (line.charCodeAt(i) !== COLON) return undefined;
    i = skipSpace(line, i + 1);
    if (key === Key.Properties) {
      if (properties !== undefined) return undefined;
      properties = [];
      i = readProperties(line, i, properties);
      if (i < 0) return undefined;
    } else {
      if (key === Key.Unknown || line.charCodeAt(i) !== QUOTE) return undefined;
      const start = i + 1;
      const end = stringEnd(line, start);
      if (end < 0) return undefined;
      i = skipSpace(line, end + 1);
      switch (key) {
        case Key.Id:
          if (id !== undefined) return undefined;
          id = line.slice(start, end);
          break;
        case Key.CustomerId:
          if (customerId !== undefined) return undefined;
          customerId = line.slice(start, end);
          break;
        case Key.CustomerIdJson:
          if (customerIdJson !== undefined) return undefined;
          customerIdJson = line.slice(start, end);
          break;
        case Key.EventType:
          if (eventType !== undefined) return undefined;
          eventType = interned(line, start, end);
          break;
        case Key.EventTypeJson:
          if (eventTypeJson !== undefined) return undefined;
          eventTypeJson = interned(line, start, end);
          break;
        case Key.Time:
          if (timeStart >= 0) return undefined;
          timeStart = start;
          timeEnd = end;
          break;
      }
    }
    const c = line.charCodeAt(i);
    if (c === COMMA) {
      i = skipSpace(line, i + 1);
      continue;
    }
    if (c !== CLOSE_BRACE) return undefined;
    break;
  }
  // `customer_id` wins over `customerId` as in parseNdjsonLine (`o[name] ?? o[jsonName]`).
  return finish(line, i, id ?? "", customerId ?? customerIdJson ?? "", eventType ?? eventTypeJson ?? "", timeStart, timeEnd, properties ?? []);
}

const enum Key {
  Unknown,
  Id,
  CustomerId,
  CustomerIdJson,
  EventType,
  EventTypeJson,
  Time,
  Properties,
}

const KEYS: [string, Key][] = [
  ["id", Key.Id],
  ["customer_id", Key.CustomerId],
  ["customerId", Key.CustomerIdJson],
  ["event_type", Key.EventType],
  ["eventType", Key.EventTypeJson],
  ["time", Key.Time],
  ["properties", Key.Properties],
];

function knownKey(line: string, start: number, end: number): Key {
  const length = end - start;
  for (const [name, key] of KEYS) if (name.length === length && line.startsWith(name, start)) return key;
  return Key.Unknown;
}

/**
 * Event types and property names repeat from line to line: the same string is handed out again
 * instead of a new one per line (less for the garbage collector). A small table, replaced
 * wholesale when it fills, so a file of ever-new names costs nothing more than before.
 */
const internTable: string[] = [];
function interned(line: string, start: number, end: number): string {
  const length = end - start;
  for (const known of internTable) if (known.length === length && line.startsWith(known, start)) return known;
  const made = line.slice(start, end);
  if (internTable.length >= 32) internTable.length = 0;
  internTable.push(made);
  return made;
}

function finish(line: string, closeBrace: number, id: string, customerId: string, eventType: string, timeStart: number, timeEnd: number, properties: [string, string][]): ImportEvent | undefined {
  if (skipSpace(line, closeBrace + 1) !== line.length) return undefined;
  return { id, customerId, eventType, timeMs: timeStart < 0 ? undefined : eventTime(line, timeStart, timeEnd), properties };
}

/** Reads `{ "name": value, … }` into `out`; the index after the closing brace, or -1 to fall back. */
function readProperties(line: string, i: number, out: [string, string][]): number {
  if (line.charCodeAt(i) !== OPEN_BRACE) return -1;
  i = skipSpace(line, i + 1);
  if (line.charCodeAt(i) === CLOSE_BRACE) return skipSpace(line, i + 1);
  for (;;) {
    if (line.charCodeAt(i) !== QUOTE) return -1;
    const nameEnd = stringEnd(line, i + 1);
    if (nameEnd < 0) return -1;
    const first = line.charCodeAt(i + 1);
    // Integer-like names come first in a JS object's key order; "__proto__" is special: leave both to JSON.parse.
    if (first >= ZERO && first <= NINE) return -1;
    const name = interned(line, i + 1, nameEnd);
    if (name === "__proto__") return -1;
    for (const [seen] of out) if (seen === name) return -1;
    i = skipSpace(line, nameEnd + 1);
    if (line.charCodeAt(i) !== COLON) return -1;
    i = skipSpace(line, i + 1);
    const c = line.charCodeAt(i);
    let value: string;
    if (c === QUOTE) {
      const end = stringEnd(line, i + 1);
      if (end < 0) return -1;
      value = line.slice(i + 1, end);
      i = end + 1;
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      const end = numberEnd(line, i);
      if (end < 0) return -1;
      // The same conversion JSON.parse makes; a number propertyValue would refuse goes to the
      // JSON.parse path, which reports it (or an error earlier in the line) as it always has.
      const n = Number(line.slice(i, end));
      value = String(n);
      if (!Number.isFinite(n) || value.includes("e") || (Number.isInteger(n) && !Number.isSafeInteger(n))) return -1;
      i = end;
    } else if (line.startsWith("true", i)) {
      value = "true";
      i += 4;
    } else if (line.startsWith("false", i)) {
      value = "false";
      i += 5;
    } else return -1;
    out.push([name, value]);
    i = skipSpace(line, i);
    const next = line.charCodeAt(i);
    if (next === COMMA) {
      i = skipSpace(line, i + 1);
      continue;
    }
    if (next !== CLOSE_BRACE) return -1;
    return skipSpace(line, i + 1);
  }
}

let cachedSecond = "";
let cachedSecondMs = 0;

/**
 * The time at line[start, end): `YYYY-MM-DDTHH:MM:SS.mmmZ` (what toISOString writes, the usual
 * export) from a one-entry cache of its second, as consecutive events mostly share it. The cache
 * holds only what Date.parse said for that second, so the result is Date.parse's. Any other text
 * goes to parseEventTime.
 */
function eventTime(line: string, start: number, end: number): number | undefined {
  if (end - start === 24 && line.charCodeAt(start + 19) === DOT && line.charCodeAt(start + 23) === Z && digitsAt(line, start + 20, 3)) {
    if (cachedSecond === "" || !line.startsWith(cachedSecond, start)) {
      const second = line.slice(start, start + 19);
      const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(second) ? Date.parse(`${second}Z`) : NaN;
      if (Number.isNaN(ms)) return parseEventTime(line.slice(start, end));
      cachedSecond = second;
      cachedSecondMs = ms;
    }
    return cachedSecondMs + (line.charCodeAt(start + 20) - ZERO) * 100 + (line.charCodeAt(start + 21) - ZERO) * 10 + (line.charCodeAt(start + 22) - ZERO);
  }
  return parseEventTime(line.slice(start, end));
}

function digitsAt(text: string, from: number, count: number): boolean {
  for (let k = from; k < from + count; k++) {
    const c = text.charCodeAt(k);
    if (c < ZERO || c > NINE) return false;
  }
  return true;
}

/** JSON whitespace: space, tab, line feed, carriage return. */
function skipSpace(line: string, i: number): number {
  for (;;) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return i;
    i++;
  }
}

/** Index of the closing quote of a string starting at `i`; -1 on an escape, a control character or no end. */
function stringEnd(line: string, i: number): number {
  for (; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === QUOTE) return i;
    if (c === BACKSLASH || c < 32) return -1;
  }
  return -1;
}

/** End of a JSON number token at `i` (-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?), or -1. */
function numberEnd(line: string, i: number): number {
  if (line.charCodeAt(i) === MINUS) i++;
  const first = line.charCodeAt(i);
  if (first === ZERO) i++;
  else if (first > ZERO && first <= NINE) i = digitsEnd(line, i);
  else return -1;
  if (line.charCodeAt(i) === DOT) {
    const end = digitsEnd(line, i + 1);
    if (end === i + 1) return -1;
    i = end;
  }
  const e = line.charCodeAt(i);
  if (e === 101 || e === 69) {
    i++;
    const sign = line.charCodeAt(i);
    if (sign === 43 || sign === MINUS) i++;
    const end = digitsEnd(line, i);
    if (end === i) return -1;
    i = end;
  }
  return i;
}

function digitsEnd(line: string, i: number): number {
  for (;;) {
    const c = line.charCodeAt(i);
    if (c < ZERO || c > NINE) return i;
    i++;
  }
}

const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const QUOTE = 34;
const COLON = 58;
const COMMA = 44;
const BACKSLASH = 92;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const Z = 90;

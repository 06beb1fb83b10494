import fc from "fast-check";
import { parseNdjsonFast } from "./ndjson-fast-path";
import { parseNdjsonJson, parseNdjsonLine } from "./ndjson-parser";

/** What the JSON.parse path makes of a line: the event, or the error's class, code and message. */
function reference(line: string): unknown {
  try {
    return parseNdjsonJson(line);
  } catch (err) {
    return { error: (err as Error).name, code: (err as { code?: string }).code, message: (err as Error).message };
  }
}

function viaLine(line: string): unknown {
  try {
    return parseNdjsonLine(line);
  } catch (err) {
    return { error: (err as Error).name, code: (err as { code?: string }).code, message: (err as Error).message };
  }
}

describe("the NDJSON fast path reads what JSON.parse reads, or leaves the line to it", () => {
  it("takes the usual export line itself", () => {
    const line = '{"id":"b_1","customer_id":"cus_1","event_type":"llm.completion","time":"2026-11-30T10:00:00.125Z","properties":{"model":"gpt-4o","tokens":"1250"}}';
    expect(parseNdjsonFast(line)).toEqual(parseNdjsonJson(line));
    expect(parseNdjsonFast(' { "id" : "e" , "properties" : { "n" : -0.5 , "ok" : true , "no" : false } } ')).toEqual({
      id: "e", customerId: "", eventType: "", timeMs: undefined, properties: [["n", "-0.5"], ["ok", "true"], ["no", "false"]],
    });
  });

  it.each([
    ['{"id":"a\\"b"}', "an escape"],
    ['{"id":"e","time":1764496800000}', "a number as time"],
    ['{"id":"e","customer_id":null}', "null"],
    ['{"id":"e","extra":"x"}', "an unknown key"],
    ['{"id":"e","id":"f"}', "a repeated key"],
    ['{"id":"e","properties":{"2":"x","b":"y"}}', "an integer-like property name (JS key order)"],
    ['{"id":"e","properties":{"tokens":1e21}}', "a number that cannot be taken exactly"],
    ['{"id":"e","properties":{"a":{"b":1}}}', "a nested value"],
    ['{"id":"e"} x', "trailing text"],
    ['{"id":"e",}', "a trailing comma"],
  ])("leaves %s to JSON.parse (%s)", (line) => {
    expect(parseNdjsonFast(line)).toBeUndefined();
    expect(viaLine(line)).toEqual(reference(line));
  });

  it("agrees with the JSON.parse path on generated lines, valid or not", () => {
    const text = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("", "cus_1", "llm", "a\"b", "\\", "\u0001", "é€😀"));
    const time = fc.oneof(
      fc.date({ min: new Date("1969-12-31T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true }).map((d) => JSON.stringify(d.toISOString())),
      fc.constantFrom('"2026-11-30T10:00:00Z"', '"2026-11-30T10:00:60.000Z"', '"2026-02-30T10:00:00.000Z"', '"2026-11-30T10:00:00.5Z"', '"yesterday"', '""', "1764496800000", "null"),
    );
    const propertyValue = fc.oneof(
      text.map((s) => JSON.stringify(s)),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
      fc.integer().map(String),
      fc.constantFrom("true", "false", "null", "1e21", "9007199254740993", "-0", "0.1", "01", "1.", '{"a":1}', "[1]"),
    );
    const properties = fc
      .array(fc.tuple(fc.oneof(fc.constantFrom("model", "tokens", "2", "__proto__", "model"), text), propertyValue), { maxLength: 4 })
      .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`);
    const field = fc.oneof(
      fc.tuple(fc.constantFrom("id", "customer_id", "customerId", "event_type", "eventType", "other"), text.map((s) => JSON.stringify(s))),
      fc.tuple(fc.constant("time"), time),
      fc.tuple(fc.constant("properties"), fc.oneof(properties, fc.constantFrom("[]", "null", '"x"'))),
      fc.tuple(fc.constant("id"), fc.constantFrom("7", "null")),
    );
    const space = fc.constantFrom("", " ", "\t");
    const line = fc
      .tuple(fc.array(fc.tuple(field, space), { maxLength: 7 }), space, fc.constantFrom("", "", "", ",", " x", "}"))
      .map(([fields, s, tail]) => `${s}{${fields.map(([[k, v], sp]) => `${sp}"${k}"${sp}:${sp}${v}${sp}`).join(",")}}${tail}`);
    fc.assert(
      fc.property(line, (l) => {
        expect(viaLine(l)).toEqual(reference(l));
      }),
      { numRuns: 3000 },
    );
  });
});

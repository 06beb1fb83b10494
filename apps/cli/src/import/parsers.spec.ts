import { createCsvParser, splitCsvLine } from "./csv-parser";
import { LineParseError } from "./line-parse-error";
import { parseNdjsonLine } from "./ndjson-parser";

describe("parseNdjsonLine", () => {
  it("reads proto field names or their JSON names, RFC 3339 or epoch-millisecond times, string/number/boolean properties", () => {
    expect(parseNdjsonLine('{"id":"e1","customer_id":"c1","event_type":"llm","time":"2026-11-30T10:00:00.5Z","properties":{"model":"m","tokens":1250,"ratio":0.25,"cached":true}}')).toEqual({
      id: "e1",
      customerId: "c1",
      eventType: "llm",
      timeMs: Date.parse("2026-11-30T10:00:00.5Z"),
      properties: [["model", "m"], ["tokens", "1250"], ["ratio", "0.25"], ["cached", "true"]],
    });
    expect(parseNdjsonLine('{"id":"e2","customerId":"c2","eventType":"llm","time":1764496800000}')).toMatchObject({ customerId: "c2", eventType: "llm", timeMs: 1764496800000, properties: [] });
  });

  it("leaves missing fields empty for the server to name", () => {
    expect(parseNdjsonLine("{}")).toEqual({ id: "", customerId: "", eventType: "", timeMs: undefined, properties: [] });
  });

  it.each([
    ["not json", "invalid_json"],
    ["[1,2]", "invalid_json"],
    ['{"id":7}', "invalid_type"],
    ['{"id":"e","time":"yesterday"}', "invalid_timestamp"],
    ['{"id":"e","properties":{"tokens":1e21}}', "invalid_decimal"],
    ['{"id":"e","properties":{"tokens":9007199254740993}}', "invalid_decimal"],
    ['{"id":"e","properties":{"nested":{"a":1}}}', "invalid_property"],
    ['{"id":"e","properties":[1]}', "invalid_property"],
  ])("refuses %s (%s)", (line, code) => {
    expect(() => parseNdjsonLine(line)).toThrow(LineParseError);
    try {
      parseNdjsonLine(line);
    } catch (err) {
      expect((err as LineParseError).code).toBe(code);
    }
  });
});

describe("CSV", () => {
  it("splits RFC 4180 fields: quotes, doubled quotes, commas inside quotes, empty cells", () => {
    expect(splitCsvLine("a,b,,c")).toEqual(["a", "b", "", "c"]);
    expect(splitCsvLine('"a, b","say ""hi""",c,""')).toEqual(["a, b", 'say "hi"', "c", ""]);
    expect(splitCsvLine("a,")).toEqual(["a", ""]);
  });

  it.each(['"open', 'a"b,c', '"a"x,b'])("refuses the malformed record %s", (line) => {
    expect(() => splitCsvLine(line)).toThrow(LineParseError);
  });

  it("maps the header: known columns, every other column a property (properties. prefix dropped), empty cells omitted", () => {
    const parse = createCsvParser("id,customer_id,event_type,time,model,properties.tokens");
    expect(parse("e1,c1,llm,2026-11-30T10:00:00Z,gpt-4o,1250")).toEqual({
      id: "e1",
      customerId: "c1",
      eventType: "llm",
      timeMs: Date.parse("2026-11-30T10:00:00Z"),
      properties: [["model", "gpt-4o"], ["tokens", "1250"]],
    });
    expect(parse("e2,c1,llm,,,7")).toMatchObject({ timeMs: undefined, properties: [["tokens", "7"]] });
    expect(() => parse("e3,c1,llm")).toThrow("3 fields where the header has 6");
  });

  it("refuses a header without the required columns", () => {
    expect(() => createCsvParser("id,customer,event_type")).toThrow("customer_id");
  });
});

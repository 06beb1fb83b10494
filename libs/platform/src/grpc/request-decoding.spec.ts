import { create, fromBinary, toBinary, type DescMessage, type DescService } from "@bufbuild/protobuf";
import { common, limits, metering, rating } from "@tally/contracts";
import * as fc from "fast-check";
import { InvalidArgumentError } from "../errors/errors";
import { decodeRequest, findNulCharacter, holdsNul, locateMalformedField } from "./request-decoding";

/** Every request message of every service: what a hostile client can aim bytes at. */
const requestSchemas: DescMessage[] = [metering, rating, limits]
  .flatMap((pkg) => Object.values(pkg).filter((v): v is DescService => typeof v === "object" && v !== null && (v as DescService).kind === "service"))
  .flatMap((service) => service.methods.map((m) => m.input));

describe("decodeRequest", () => {
  it("finds request messages to test", () => {
    expect(requestSchemas.length).toBeGreaterThan(20);
  });

  it("turns any bytes into a message or an INVALID_ARGUMENT naming a field, never anything else", () => {
    fc.assert(
      fc.property(fc.constantFrom(...requestSchemas), fc.uint8Array({ maxLength: 48 }), (schema, bytes) => {
        try {
          decodeRequest(schema, bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidArgumentError);
          expect((err as InvalidArgumentError).field).toMatch(/\S/);
        }
      }),
      { numRuns: 3_000 },
    );
  });

  it("names a repeated field by index and a map entry by key", () => {
    const good = toBinary(metering.RecordBatchRequestSchema, create(metering.RecordBatchRequestSchema, { events: [{ id: "a" }, { id: "b", properties: { model: "x" } }] }));
    // Replace the last byte ("x") with 0xff: the value of properties[model] in events[1].
    const bad = Uint8Array.from(good);
    bad[bad.length - 1] = 0xff;
    expect(() => fromBinary(metering.RecordBatchRequestSchema, bad)).toThrow();
    expect(locateMalformedField(metering.RecordBatchRequestSchema, bad)).toEqual({
      field: "events[1].properties[model]",
      code: "invalid_utf8",
      message: "is not valid UTF-8 (protobuf string fields must be)",
    });
  });

  it("refuses U+0000 in a string, which decodes but which Postgres cannot store, naming the field", () => {
    const bytes = toBinary(metering.GetMeterRequestSchema, create(metering.GetMeterRequestSchema, { key: "tok\u0000ens" }));
    expect(() => decodeRequest(metering.GetMeterRequestSchema, bytes)).toThrow(expect.objectContaining({ field: "key", violations: [expect.objectContaining({ code: "nul_character" })] }));
    // A zero byte elsewhere (an empty nested message) is no reason to refuse.
    const empty = toBinary(metering.QueryUsageRequestSchema, create(metering.QueryUsageRequestSchema, { meterKey: "tokens", from: {} }));
    expect(empty.includes(0)).toBe(true);
    expect(decodeRequest<metering.QueryUsageRequest>(metering.QueryUsageRequestSchema, empty).meterKey).toBe("tokens");
  });

  it("holdsNul finds U+0000 exactly where findNulCharacter does: nested, in lists, map keys and values", () => {
    const batch = (id: string, key: string, value: string) =>
      create(metering.RecordBatchRequestSchema, { events: [{ id: "a" }, { id, properties: { [key]: value } }] });
    for (const [message, expected] of [
      [batch("b", "model", "x"), false],
      [batch("b\u0000", "model", "x"), true],
      [batch("b", "mo\u0000del", "x"), true],
      [batch("b", "model", "\u0000"), true],
    ] as const) {
      expect(holdsNul(metering.RecordBatchRequestSchema, message)).toBe(expected);
      expect(findNulCharacter(metering.RecordBatchRequestSchema, message) !== undefined).toBe(expected);
    }
    // Through decodeRequest: refused, naming the field.
    const bytes = toBinary(metering.RecordBatchRequestSchema, batch("b", "model", "x\u0000"));
    expect(() => decodeRequest(metering.RecordBatchRequestSchema, bytes)).toThrow(expect.objectContaining({ field: "events[1].properties[model]" }));
  });

  it("holdsNul agrees with findNulCharacter on whatever random bytes decode to, for every request message", () => {
    fc.assert(
      fc.property(fc.constantFrom(...requestSchemas), fc.uint8Array({ maxLength: 64 }), (schema, bytes) => {
        let message: unknown;
        try {
          message = fromBinary(schema, bytes);
        } catch {
          return;
        }
        expect(holdsNul(schema, message)).toBe(findNulCharacter(schema, message) !== undefined);
      }),
      { numRuns: 5_000 },
    );
  });

  it("uses a hand-written decoder when given one, and still names the field it fails on", () => {
    const bad = Uint8Array.from([0x0a, 0x02, 0x61, 0xfe]);
    const strict = (bytes: Uint8Array) => fromBinary(common.ErrorDetailSchema, bytes);
    expect(() => decodeRequest(metering.GetMeterRequestSchema, bad, strict)).toThrow(expect.objectContaining({ field: "key" }));
  });
});

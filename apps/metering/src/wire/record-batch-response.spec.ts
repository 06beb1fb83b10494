import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { metering } from "@tally/contracts";
import { Decimal } from "@tally/pricing";
import type { EventOutcome } from "../domain/record-outcome";
import type { ValidEvent } from "../domain/usage-event";
import { eventResultToProto } from "../rpc/proto-mapping";
import { recordBatchResponse } from "./record-batch-response";

const S = metering.RecordBatchResponseSchema;

const accepted: EventOutcome = {
  status: "accepted",
  event: {
    id: "evt",
    customerId: "c",
    eventType: "t",
    time: new Date(0),
    timeGiven: false,
    properties: {},
    readings: [{ meterKey: "m", aggregation: "sum", value: "1", decimal: new Decimal(1), groupBy: [], groupValues: [] }],
  } satisfies ValidEvent,
};
const duplicate: EventOutcome = { status: "duplicate" };
const conflict: EventOutcome = { status: "conflict", message: 'event "x" was already recorded with different content' };
const rejected: EventOutcome = {
  status: "rejected",
  violations: [
    { field: "events[3].time", code: "in_future", message: "time is more than 5 minutes in the future" },
    { field: "events[3].properties[tokens]", code: "invalid_decimal", message: "é ".repeat(100) },
  ],
};

/** What the generic path (create + toBinary over eventResultToProto) sends, as the client decodes it. */
function reference(ids: string[], outcomes: EventOutcome[]) {
  const count = (s: EventOutcome["status"]) => outcomes.filter((o) => o.status === s).length;
  return create(S, {
    results: outcomes.map((o, i) => eventResultToProto(ids[i]!, o)),
    acceptedCount: count("accepted"),
    duplicateCount: count("duplicate"),
    conflictCount: count("conflict"),
    rejectedCount: count("rejected"),
  });
}

/** The server's serialization (platform: toBinary(create(schema, response))), decoded by a client. */
function overTheWire(ids: string[], outcomes: EventOutcome[]) {
  return fromBinary(S, toBinary(S, create(S, recordBatchResponse(ids, outcomes))));
}

describe("recordBatchResponse", () => {
  it.each([
    ["no events", [], []],
    ["one accepted event", ["evt_1"], [accepted]],
    ["every status", ["a", "b", "c", "d"], [accepted, duplicate, conflict, rejected]],
    ["a rejected event without an id", [""], [rejected]],
    ["non-ASCII and long ids (multi-byte lengths)", ["é-€-😀", "x".repeat(255), "客户".repeat(60)], [accepted, conflict, rejected]],
    ["a rejection with no violations listed", ["e"], [{ status: "rejected", violations: [] } as EventOutcome]],
  ] as const)("decodes to what the generic encoder sends: %s", (_, ids, outcomes) => {
    const decoded = overTheWire([...ids], [...outcomes]);
    const expected = reference([...ids], [...outcomes]);
    expect(equals(S, decoded, expected)).toBe(true);
    expect(decoded.$unknown ?? []).toEqual([]);
  });

  it("keeps request order and counts over 5,000 mixed results", () => {
    const all = [accepted, duplicate, conflict, rejected];
    const outcomes = Array.from({ length: 5_000 }, (_, i) => all[(i * 7) % 4]!);
    const ids = outcomes.map((_, i) => `evt_${i}`);
    const decoded = overTheWire(ids, outcomes);
    expect(decoded.results.map((r) => r.eventId)).toEqual(ids);
    expect(equals(S, decoded, reference(ids, outcomes))).toBe(true);
  });

  // The encoder writes these fields and no others: adding a field to EventResult fails here
  // until the encoder (and eventResultToProto) write it too.
  it("knows every field of EventResult and RecordBatchResponse", () => {
    expect(metering.EventResultSchema.fields.map((f) => f.name)).toEqual(["event_id", "status", "reason", "field", "code"]);
    expect(S.fields.map((f) => f.name)).toEqual(["results", "accepted_count", "duplicate_count", "conflict_count", "rejected_count"]);
    expect(Math.max(...metering.EventStatusSchema.values.map((v) => v.number))).toBeLessThan(128);
  });
});

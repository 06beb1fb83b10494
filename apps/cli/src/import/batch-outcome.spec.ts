import { create, toBinary } from "@bufbuild/protobuf";
import { metering } from "@tally/contracts";
import { readBatchOutcome } from "./batch-outcome";

const { ACCEPTED, DUPLICATE, CONFLICT, REJECTED } = metering.EventStatus;

function encode(statuses: metering.EventStatus[]): Uint8Array {
  const results = statuses.map((status, i) => ({ eventId: `e${i}`, status, ...(status === REJECTED ? { code: "too_old", field: `events[${i}].time`, reason: "too old" } : {}) }));
  const count = (s: metering.EventStatus) => statuses.filter((x) => x === s).length;
  return toBinary(
    metering.RecordBatchResponseSchema,
    create(metering.RecordBatchResponseSchema, { results, acceptedCount: count(ACCEPTED), duplicateCount: count(DUPLICATE), conflictCount: count(CONFLICT), rejectedCount: count(REJECTED) }),
  );
}

describe("readBatchOutcome", () => {
  it("counts results and takes the counts as sent, decoding no result when none is a problem", () => {
    expect(readBatchOutcome(encode([ACCEPTED, ACCEPTED, DUPLICATE]))).toEqual({ results: 3, accepted: 2, duplicate: 1, conflict: 0, rejected: 0, problems: [] });
  });

  it("gives the CONFLICT and REJECTED results with their index in the batch", () => {
    const outcome = readBatchOutcome(encode([ACCEPTED, REJECTED, DUPLICATE, CONFLICT]));
    expect(outcome).toMatchObject({ results: 4, accepted: 1, duplicate: 1, conflict: 1, rejected: 1 });
    expect(outcome.problems.map((p) => [p.index, p.result.eventId, p.result.status])).toEqual([
      [1, "e1", REJECTED],
      [3, "e3", CONFLICT],
    ]);
    expect(outcome.problems[0]!.result).toMatchObject({ code: "too_old", field: "events[1].time" });
  });

  it("reads an empty response", () => {
    expect(readBatchOutcome(new Uint8Array())).toEqual({ results: 0, accepted: 0, duplicate: 0, conflict: 0, rejected: 0, problems: [] });
  });
});

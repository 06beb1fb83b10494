import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { metering } from "@tally/contracts";

/** What one RecordBatch call did: its counts, and the results that need a line in the rejects file. */
export interface BatchOutcome {
  /** Number of results (one per event sent). */
  results: number;
  accepted: number;
  duplicate: number;
  conflict: number;
  rejected: number;
  /** CONFLICT and REJECTED results, with the index of their event in the batch. */
  problems: { index: number; result: metering.EventResult }[];
}

/**
 * Reads a RecordBatchResponse without decoding every result: the counts (fields 2–5) say
 * whether any result is a CONFLICT or REJECTED, and only then are the results (field 1) decoded
 * with the generated schema. Decoding 1,000 results through reflection for every batch was a
 * tenth of the import's CPU time, for results that are almost always ACCEPTED.
 */
export function readBatchOutcome(bytes: Uint8Array): BatchOutcome {
  const reader = new BinaryReader(bytes);
  const results: [number, number][] = [];
  const outcome: BatchOutcome = { results: 0, accepted: 0, duplicate: 0, conflict: 0, rejected: 0, problems: [] };
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    switch (field) {
      case 1: {
        const length = reader.uint32();
        results.push([reader.pos, reader.pos + length]);
        reader.pos += length;
        break;
      }
      case 2:
        outcome.accepted = reader.int32();
        break;
      case 3:
        outcome.duplicate = reader.int32();
        break;
      case 4:
        outcome.conflict = reader.int32();
        break;
      case 5:
        outcome.rejected = reader.int32();
        break;
      default:
        reader.skip(wireType);
    }
  }
  outcome.results = results.length;
  if (outcome.conflict + outcome.rejected > 0) {
    results.forEach(([start, end], index) => {
      const result = fromBinary(metering.EventResultSchema, bytes.subarray(start, end));
      if (result.status === metering.EventStatus.CONFLICT || result.status === metering.EventStatus.REJECTED) outcome.problems.push({ index, result });
    });
  }
  return outcome;
}

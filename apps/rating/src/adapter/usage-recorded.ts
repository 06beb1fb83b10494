import { fromBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { aggregationFromProto, metering } from "@tally/contracts";
import type { UsageEvent } from "../domain/usage-rating";

/**
 * The events of one tally.metering.v1.usage.recorded message. Throws on a message that cannot be
 * decoded or a reading whose aggregation it cannot read: the consumer redelivers it a few times,
 * then dead-letters it whole (never dropped, never redelivered forever, never rated as a sum).
 */
export function usageEventsOf(data: Uint8Array): UsageEvent[] {
  return fromBinary(metering.UsageRecordedSchema, data).events.map(toUsageEvent);
}

function toUsageEvent(e: metering.RecordedEvent): UsageEvent {
  return {
    id: e.id,
    customerId: e.customerId,
    eventType: e.eventType,
    time: e.time ? timestampDate(e.time) : e.recordTime ? timestampDate(e.recordTime) : new Date(0),
    readings: e.readings.map((r) => ({
      meterKey: r.meterKey,
      aggregation: aggregationFromProto(r.aggregation),
      value: r.value,
      group: r.group,
    })),
  };
}

import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { metering } from "@tally/contracts";
import type { AggregationKind, Meter } from "../domain/meter";

/**
 * Meter ↔ proto mapping, shared by the rpc layer (responses) and the events metering
 * publishes (MeterCreated, MeterArchived, MeterReading.aggregation).
 */
const AGGREGATION_TO_PROTO: Record<AggregationKind, metering.Aggregation> = {
  count: metering.Aggregation.COUNT,
  sum: metering.Aggregation.SUM,
  max: metering.Aggregation.MAX,
  unique_count: metering.Aggregation.UNIQUE_COUNT,
  latest: metering.Aggregation.LATEST,
};

export function aggregationToProto(aggregation: AggregationKind): metering.Aggregation {
  return AGGREGATION_TO_PROTO[aggregation];
}

/** Undefined for UNSPECIFIED and for values this server does not know. */
export function aggregationFromProto(aggregation: metering.Aggregation): AggregationKind | undefined {
  return (Object.keys(AGGREGATION_TO_PROTO) as AggregationKind[]).find((k) => AGGREGATION_TO_PROTO[k] === aggregation);
}

export function meterToProto(meter: Meter): MessageInitShape<typeof metering.MeterDefinitionSchema> {
  return {
    key: meter.key,
    eventType: meter.eventType,
    aggregation: aggregationToProto(meter.aggregation),
    valueProperty: meter.valueProperty,
    groupBy: [...meter.groupBy],
    filters: meter.filters.map((f) => ({ property: f.property, values: [...f.values] })),
    allowNegative: meter.allowNegative,
    description: meter.description,
    state: meter.state === "active" ? metering.MeterState.ACTIVE : metering.MeterState.ARCHIVED,
    createTime: timestampFromDate(meter.createTime),
    archiveTime: meter.archiveTime ? timestampFromDate(meter.archiveTime) : undefined,
  };
}

import { Aggregation as ProtoAggregation } from "./gen/tally/metering/v1/meter_definition_pb";

/** How a meter combines readings over a period, as every service's domain names it. */
export type Aggregation = "count" | "sum" | "max" | "unique_count" | "latest";

const TO_PROTO: Record<Aggregation, ProtoAggregation> = {
  count: ProtoAggregation.COUNT,
  sum: ProtoAggregation.SUM,
  max: ProtoAggregation.MAX,
  unique_count: ProtoAggregation.UNIQUE_COUNT,
  latest: ProtoAggregation.LATEST,
};

const FROM_PROTO = new Map<ProtoAggregation, Aggregation>(Object.entries(TO_PROTO).map(([k, v]) => [v, k as Aggregation]));

/**
 * UNSPECIFIED, or a value added to the contract after this build: a meter we cannot aggregate.
 * Never read as `sum` — that would price a MAX or LATEST meter as a running total.
 */
export class UnknownAggregationError extends Error {
  override readonly name = "UnknownAggregationError";
  constructor(readonly value: number) {
    super(`unknown aggregation ${value} (expected COUNT, SUM, MAX, UNIQUE_COUNT or LATEST)`);
  }
}

/** The one mapping of `tally.metering.v1.Aggregation` to the domain name; throws {@link UnknownAggregationError}. */
export function aggregationFromProto(value: ProtoAggregation): Aggregation {
  const aggregation = FROM_PROTO.get(value);
  if (!aggregation) throw new UnknownAggregationError(value);
  return aggregation;
}

export function aggregationToProto(aggregation: Aggregation): ProtoAggregation {
  return TO_PROTO[aggregation];
}

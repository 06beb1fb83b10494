import { Aggregation as ProtoAggregation } from "./gen/tally/metering/v1/meter_definition_pb";
import { aggregationFromProto, aggregationToProto, UnknownAggregationError, type Aggregation } from "./aggregation";

describe("aggregation mapping", () => {
  it.each<Aggregation>(["count", "sum", "max", "unique_count", "latest"])("round-trips %s", (a) => {
    expect(aggregationFromProto(aggregationToProto(a))).toBe(a);
  });

  it("refuses UNSPECIFIED and values it does not know instead of reading them as sum", () => {
    expect(() => aggregationFromProto(ProtoAggregation.UNSPECIFIED)).toThrow(UnknownAggregationError);
    expect(() => aggregationFromProto(99 as ProtoAggregation)).toThrow(UnknownAggregationError);
  });
});

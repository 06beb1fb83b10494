import { fromBinary } from "@bufbuild/protobuf";
import { aggregationFromProto, metering, SUBJECTS, UnknownAggregationError } from "@tally/contracts";
import type { ReceivedEvent, ServiceDeps } from "@tally/platform";
import { upsertMeter } from "../adapter/meter-store";
import type { MeterInfo } from "../domain/rate-plan";

/** Rating's copy of a metering meter definition, or undefined when it has no usable aggregation. */
export function meterInfo(meter: metering.MeterDefinition, active: boolean): MeterInfo | undefined {
  try {
    return { key: meter.key, aggregation: aggregationFromProto(meter.aggregation), groupBy: [...meter.groupBy], active };
  } catch (err) {
    if (err instanceof UnknownAggregationError) return undefined;
    throw err;
  }
}

/**
 * Keeps rating's own copy of meter definitions from tally.metering.v1.meter.created/.archived
 * (rating never reads metering's tables). Used to validate plan components.
 */
export class MeterCopy {
  constructor(private readonly deps: ServiceDeps) {}

  async handle(messages: ReceivedEvent[]): Promise<void> {
    for (const m of messages) {
      const archived = m.subject === SUBJECTS.metering.meterArchived;
      if (!archived && m.subject !== SUBJECTS.metering.meterCreated) continue;
      const event = archived ? fromBinary(metering.MeterArchivedSchema, m.data) : fromBinary(metering.MeterCreatedSchema, m.data);
      const info = event.meter && meterInfo(event.meter, !archived);
      if (!info) {
        this.deps.logger.warn("meter event without a usable meter ignored", { subject: m.subject });
        continue;
      }
      await upsertMeter(this.deps.pool, info);
    }
  }
}

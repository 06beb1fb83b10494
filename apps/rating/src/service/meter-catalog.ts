import { fromBinary } from "@bufbuild/protobuf";
import { metering } from "@tally/contracts";
import type { JsMsg, ServiceDeps } from "@tally/platform";
import { upsertMeter } from "../adapter/meter-store";
import type { Aggregation, MeterInfo } from "../domain/rate-plan";

const AGGREGATION: Partial<Record<metering.Aggregation, Aggregation>> = {
  [metering.Aggregation.COUNT]: "count",
  [metering.Aggregation.SUM]: "sum",
  [metering.Aggregation.MAX]: "max",
  [metering.Aggregation.UNIQUE_COUNT]: "unique_count",
  [metering.Aggregation.LATEST]: "latest",
};

/** Rating's copy of a metering meter definition, or undefined when it has no usable aggregation. */
export function meterInfo(meter: metering.MeterDefinition, active: boolean): MeterInfo | undefined {
  const aggregation = AGGREGATION[meter.aggregation];
  return aggregation && { key: meter.key, aggregation, groupBy: [...meter.groupBy], active };
}

/**
 * Keeps rating's own copy of meter definitions from tally.metering.v1.meter.created/.archived
 * (rating never reads metering's tables). Used to validate plan components.
 */
export class MeterCatalog {
  constructor(private readonly deps: ServiceDeps) {}

  async handle(messages: JsMsg[]): Promise<void> {
    for (const m of messages) {
      const archived = m.subject.endsWith(".meter.archived");
      if (!archived && !m.subject.endsWith(".meter.created")) continue;
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

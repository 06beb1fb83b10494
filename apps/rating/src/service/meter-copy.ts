import type { ReceivedEvent, ServiceDeps } from "@tally/platform";
import { meterEventOf } from "../adapter/metering-meters";
import { upsertMeter } from "../adapter/meter-store";

/**
 * Keeps rating's own copy of meter definitions from tally.metering.v1.meter.created/.archived
 * (rating never reads metering's tables). Used to validate plan components.
 */
export class MeterCopy {
  constructor(private readonly deps: ServiceDeps) {}

  async handle(messages: ReceivedEvent[]): Promise<void> {
    for (const m of messages) {
      const meter = meterEventOf(m.subject, m.data);
      if (!meter) continue;
      if ("unusable" in meter) {
        this.deps.logger.warn("meter event without a usable meter ignored", { subject: m.subject });
        continue;
      }
      await upsertMeter(this.deps.pool, meter.info);
    }
  }
}

import { fromBinary } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { aggregationFromProto, metering, SUBJECTS, UnknownAggregationError } from "@tally/contracts";
import { Code, createServiceClient } from "@tally/platform";
import type { MeterInfo } from "../domain/rate-plan";

/**
 * Metering's meter definitions as rating reads them — from metering's events and from its Meter
 * rpcs — mapped to rating's {@link MeterInfo} in one place. A definition whose aggregation rating
 * cannot read is `unusable` (logged and skipped by the callers, never guessed as a sum).
 */
export type MeterReading = { info: MeterInfo } | { unusable: string };

function reading(meter: metering.MeterDefinition, active: boolean): MeterReading {
  try {
    return { info: { key: meter.key, aggregation: aggregationFromProto(meter.aggregation), groupBy: [...meter.groupBy], active } };
  } catch (err) {
    if (err instanceof UnknownAggregationError) return { unusable: meter.key };
    throw err;
  }
}

/** A tally.metering.v1.meter.created/.archived message; undefined for another subject. */
export function meterEventOf(subject: string, data: Uint8Array): MeterReading | undefined {
  const archived = subject === SUBJECTS.metering.meterArchived;
  if (!archived && subject !== SUBJECTS.metering.meterCreated) return undefined;
  const event = archived ? fromBinary(metering.MeterArchivedSchema, data) : fromBinary(metering.MeterCreatedSchema, data);
  return event.meter ? reading(event.meter, !archived) : { unusable: "" };
}

/** A client of metering's Meter service, for one series of calls (close it after). */
export interface MeteringMeters {
  /** One meter; undefined when metering does not know it. Throws when metering cannot answer. */
  get(key: string, timeoutMs: number): Promise<MeterReading | undefined>;
  /** One page of every meter, archived ones included. */
  list(pageSize: number, pageToken: string): Promise<{ meters: MeterReading[]; nextPageToken: string }>;
  close(): void;
}

export function meteringMeters(address: string, apiKey: string): MeteringMeters {
  const { client, close } = createServiceClient(metering.Meter, address, apiKey);
  const active = (m: metering.MeterDefinition) => m.state === metering.MeterState.ACTIVE;
  return {
    async get(key, timeoutMs) {
      try {
        const { meter } = await client.getMeter({ key }, { timeoutMs });
        return meter && reading(meter, active(meter));
      } catch (err) {
        if (err instanceof ConnectError && err.code === Code.NotFound) return undefined;
        throw err;
      }
    },
    async list(pageSize, pageToken) {
      const page = await client.listMeters({ pageSize, pageToken, includeArchived: true });
      return { meters: page.meters.map((m) => reading(m, active(m))), nextPageToken: page.nextPageToken };
    },
    close,
  };
}

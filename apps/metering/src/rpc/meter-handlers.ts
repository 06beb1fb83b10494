import { type metering } from "@tally/contracts";
import type { Scope, ServiceHandlers } from "@tally/platform";
import { meterToProto } from "../adapter/proto-meter";
import { IdempotencyConflictError, invalidArgument } from "../domain/errors";
import { BOUNDS } from "../domain/bounds";
import type { IngestService } from "../service/ingest-service";
import type { MeterService } from "../service/meter-service";
import type { QueryService } from "../service/query-service";
import { recordBatchResponse } from "../wire/record-batch-response";
import { eventResultToProto, meterInputFromProto, usageQueryFromProto, usageRowToProto } from "./proto-mapping";

export interface MeteringServices {
  ingest: IngestService;
  meters: MeterService;
  query: QueryService;
}

/** The scope each rpc requires (`admin` also grants `read`). */
export const METER_SCOPES: { [K in keyof (typeof metering.Meter)["method"]]: Scope } = {
  record: "ingest",
  recordBatch: "ingest",
  createMeter: "admin",
  getMeter: "read",
  listMeters: "read",
  archiveMeter: "admin",
  queryUsage: "read",
};

/** Thin handlers: map the request, call the service, map the result. */
export function createMeterHandlers({ ingest, meters, query }: MeteringServices): ServiceHandlers<typeof metering.Meter> {
  return {
    async record(req) {
      if (!req.event) throw invalidArgument([{ field: "event", code: "required", message: "event is required" }]);
      const outcome = await ingest.record(req.event);
      switch (outcome.status) {
        case "accepted":
        case "duplicate":
          return { result: eventResultToProto(req.event.id, outcome) };
        case "conflict":
          throw new IdempotencyConflictError(outcome.message);
        case "rejected":
          throw invalidArgument(outcome.violations);
      }
    },

    async recordBatch(req) {
      if (req.events.length > BOUNDS.maxBatchEvents) {
        throw invalidArgument(
          [{ field: "events", code: "batch_too_large", message: `batch holds ${req.events.length} events, at most ${BOUNDS.maxBatchEvents} are allowed; nothing was recorded` }],
          "batch_too_large",
        );
      }
      // A proto UsageEvent is a UsageEventInput as it is: no copy per event.
      const outcomes = await ingest.recordBatch(req.events);
      return recordBatchResponse(
        req.events.map((e) => e.id),
        outcomes,
      );
    },

    async createMeter(req) {
      if (!req.meter) throw invalidArgument([{ field: "meter", code: "required", message: "meter is required" }]);
      return { meter: meterToProto(await meters.create(meterInputFromProto(req.meter))) };
    },

    async getMeter(req) {
      return { meter: meterToProto(await meters.get(req.key)) };
    },

    async listMeters(req) {
      const page = await meters.list(req.pageSize, req.pageToken, req.includeArchived);
      return { meters: page.meters.map(meterToProto), nextPageToken: page.nextPageToken };
    },

    async archiveMeter(req) {
      return { meter: meterToProto(await meters.archive(req.key)) };
    },

    async queryUsage(req) {
      const rows = await query.query(usageQueryFromProto(req));
      return { rows: rows.map(usageRowToProto) };
    },
  };
}

import * as path from "node:path";
import { metering } from "@tally/contracts";
import { readMigrations, serviceRegistration, type ServiceDefinition } from "@tally/platform";
import { backfillMs, loadMeteringSettings, type MeteringSettings } from "./settings";
import { decodeRecordBatchRequest, decodeRecordRequest } from "./wire/record-request-decoder";
import { createMeterHandlers, METER_SCOPES } from "./rpc/meter-handlers";
import { IngestService } from "./service/ingest-service";
import { MeterCatalog } from "./service/meter-catalog";
import { RollupFolder } from "./service/rollup-folder";
import { MeterService } from "./service/meter-service";
import { QueryService } from "./service/query-service";
import { BOUNDS } from "./domain/bounds";

/** `apps/metering/migrations`, the same depth from `src/` and `dist/`. */
export const MIGRATIONS_DIR = path.resolve(__dirname, "../migrations");

/**
 * Largest Record/RecordBatch request (proto/README.md): a full batch of 5,000 events at the
 * per-event maximums (BOUNDS) fits. Other services keep the platform's 4 MiB.
 */
export const MAX_REQUEST_BYTES = BOUNDS.maxRequestBytes;

/**
 * The metering service: ingest, meters and usage queries on tally.metering.v1.Meter.
 * `settings` overrides the environment (tests, benchmarks); otherwise METERING_* variables
 * are read when the service is built.
 */
export function createMeteringService(settings?: Partial<MeteringSettings>): ServiceDefinition {
  return {
    name: "metering",
    migrations: readMigrations(MIGRATIONS_DIR),
    maxRequestBytes: MAX_REQUEST_BYTES,
    build({ pool, clock, logger, outbox, metrics }) {
      const resolved = { ...loadMeteringSettings(), ...settings };
      const catalog = new MeterCatalog();
      const folder = new RollupFolder({ pool, logger, intervalMs: resolved.rollupFoldMs, foldAtRows: resolved.directRollupRows });
      const ingest = new IngestService({
        pendingRollups: folder,
        directRollupRows: resolved.directRollupRows,
        pool,
        outbox,
        clock,
        logger,
        catalog,
        backfillMs: backfillMs(resolved),
        maxEventsPerFlush: resolved.maxEventsPerTransaction,
        maxConcurrentFlushes: resolved.concurrentTransactions,
        outcomes: metrics.counter("events_total", "Usage events recorded, by outcome: accepted, duplicate, conflict, rejected.", ["outcome"]),
      });
      const meters = new MeterService({ pool, clock, backfillMs: backfillMs(resolved) });
      const query = new QueryService({ pool, clock, backfillMs: backfillMs(resolved), rollups: folder });
      return {
        services: [
          serviceRegistration({
            service: metering.Meter,
            handlers: createMeterHandlers({ ingest, meters, query }),
            scopes: METER_SCOPES,
            decoders: { record: decodeRecordRequest, recordBatch: decodeRecordBatchRequest },
          }),
        ],
        start: async () => folder.start(),
        // The server has drained by now; this waits for group commits still running, then folds
        // their rollups (what is left pending is folded by the next instance to start).
        stop: async () => {
          await ingest.drain();
          await folder.stop();
        },
      };
    },
  };
}

export const meteringService: ServiceDefinition = createMeteringService();

import type { Logger, Pool } from "@tally/platform";
import { meteringMeters } from "../adapter/metering-meters";
import { upsertMeter } from "../adapter/meter-store";

export interface MeterSyncOptions {
  pool: Pool;
  logger: Logger;
  /** Metering's gRPC address and an API key with its `read` scope. */
  address: string;
  apiKey: string;
  /** Wait between attempts while metering cannot be reached. */
  retryMs?: number;
}

const PAGE_SIZE = 500;

/**
 * Copies every meter definition from metering's ListMeters (archived ones included) into
 * rating's own table, once at start. Meter events alone are not enough: metering's stream keeps
 * them 7 days, so a rating database created later would never hear of older meters. The copy
 * is idempotent with the events (an archived meter never becomes active again), so the two may
 * arrive in any order. Runs in the background and retries until metering answers or the
 * service stops: rating must start even while metering is down.
 */
export class MeterSync {
  /** Copies that failed so far (metering down or refusing): for logs and status. */
  failedAttempts = 0;
  private stopped = false;
  private wake: (() => void) | undefined;
  private done: Promise<void> | undefined;

  constructor(private readonly options: MeterSyncOptions) {}

  start(): void {
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.done;
  }

  /** Resolves once the copy is complete (or the sync was stopped). */
  whenDone(): Promise<void> {
    return this.done ?? Promise.resolve();
  }

  private async run(): Promise<void> {
    const { logger, retryMs = 5_000 } = this.options;
    // Services start in any order: retry soon at first, then every retryMs.
    for (let delay = Math.min(250, retryMs); !this.stopped; delay = Math.min(delay * 2, retryMs)) {
      try {
        const copied = await this.copyAll();
        logger.info("meter definitions copied from metering", { meters: copied });
        return;
      } catch (err) {
        this.failedAttempts++;
        logger.warn("cannot copy meter definitions from metering yet; retrying", { reason: err instanceof Error ? err.message : String(err), retryInMs: delay });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private async copyAll(): Promise<number> {
    const { pool, address, apiKey, logger } = this.options;
    const meters = meteringMeters(address, apiKey);
    try {
      let copied = 0;
      let pageToken = "";
      do {
        const page = await meters.list(PAGE_SIZE, pageToken);
        for (const meter of page.meters) {
          if ("unusable" in meter) {
            logger.warn("meter without a usable aggregation ignored", { meter: meter.unusable });
            continue;
          }
          await upsertMeter(pool, meter.info);
          copied++;
        }
        pageToken = page.nextPageToken;
      } while (pageToken !== "" && !this.stopped);
      return copied;
    } finally {
      meters.close();
    }
  }
}

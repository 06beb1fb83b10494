import type { Clock, Pool, PoolClient } from "@tally/platform";
import { decodePageToken, encodePageToken, enqueue, pageSize as readPageSize, withTransaction } from "@tally/platform";
import { scanEventsOfType } from "../adapter/event-store";
import { meterArchivedMessage, meterCreatedMessage } from "../adapter/event-messages";
import { archiveMeter, countActiveMeters, findMeter, insertMeter, listMeters, lockCatalogForChange } from "../adapter/meter-store";
import { insertUniqueValues, upsertRollups } from "../adapter/rollup-store";
import { BackfillRejectedError, invalidArgument, MeterKeyTakenError, MeterNotFoundError, TooManyMetersError } from "../domain/errors";
import { BOUNDS } from "../domain/bounds";
import { sameSpec, type Meter, type MeterSpec } from "../domain/meter";
import { validateMeter, type MeterInput } from "../domain/meter-validation";
import { readEvent } from "../domain/reading";
import { RollupAccumulator } from "../domain/rollup";
import { quote } from "../domain/violation";

export interface MeterServiceOptions {
  pool: Pool;
  clock: Clock;
  backfillMs: number;
}

export interface MeterPage {
  meters: Meter[];
  nextPageToken: string;
}

const BACKFILL_PAGE = 5_000;
const BACKFILL_FLUSH_ROWS = 20_000;
const BACKFILL_EXAMPLES = 5;

/** Meter definitions: create (with backfill), get, list, archive; changes are published via the outbox. */
export class MeterService {
  constructor(private readonly options: MeterServiceOptions) {}

  /**
   * Creates a meter, or returns the identical active one. In the same transaction, under the
   * exclusive catalog lock (in-flight ingest transactions finish first, new ones wait), the
   * meter reads every stored event of its type inside the backfill window — through
   * {@link readEvent}, the code ingest uses — and its rollups are written. Events recorded
   * before the meter are therefore counted exactly once, and none recorded concurrently is missed.
   */
  async create(input: MeterInput): Promise<Meter> {
    const validation = validateMeter(input);
    if (!validation.ok) throw invalidArgument(validation.violations);
    const spec = validation.spec;
    const { pool, clock, backfillMs } = this.options;
    const unchanged = (existing: Meter | undefined): Meter | undefined => {
      if (!existing) return undefined;
      if (existing.state === "active" && sameSpec(existing, spec)) return existing;
      throw new MeterKeyTakenError(spec.key, existing.state === "archived");
    };
    // A provisioning script re-creating its meters must not stall ingest: look before locking.
    const known = unchanged(await findMeter(pool, spec.key));
    if (known) return known;
    return withTransaction(pool, async (client) => {
      await lockCatalogForChange(client);
      const created = unchanged(await findMeter(client, spec.key, true));
      if (created) return created;
      if ((await countActiveMeters(client, spec.eventType)) >= BOUNDS.maxActiveMetersPerEventType) {
        throw new TooManyMetersError(spec.eventType, BOUNDS.maxActiveMetersPerEventType);
      }
      const now = clock.now();
      const meter = await insertMeter(client, spec, now);
      const backfilled = await this.backfill(client, spec, new Date(now.getTime() - backfillMs));
      await enqueue(client, [meterCreatedMessage(meter, backfilled, now)]);
      return meter;
    });
  }

  private async backfill(client: PoolClient, spec: MeterSpec, since: Date): Promise<number> {
    const rollups = new RollupAccumulator();
    let counted = 0;
    let invalid = 0;
    const examples: string[] = [];
    await scanEventsOfType(client, spec.eventType, since, BACKFILL_PAGE, async (events) => {
      for (const event of events) {
        const { readings, violations } = readEvent(event.properties, [spec], `event ${quote(event.id)}`);
        if (violations.length > 0) {
          invalid++;
          if (examples.length < BACKFILL_EXAMPLES) examples.push(`${violations[0]!.field}: ${violations[0]!.message}`);
          continue;
        }
        if (readings.length === 0) continue; // filtered out
        counted++;
        rollups.add({ id: event.id, customerId: event.customerId, time: event.time, readings }, event.recordTime);
      }
      if (invalid === 0 && rollups.size >= BACKFILL_FLUSH_ROWS) await writeRollups(client, rollups);
    });
    if (invalid > 0) throw new BackfillRejectedError(invalid, examples);
    await writeRollups(client, rollups);
    return counted;
  }

  async get(key: string): Promise<Meter> {
    if (key === "") throw invalidArgument([{ field: "key", code: "required", message: "key is required" }]);
    const meter = await findMeter(this.options.pool, key);
    if (!meter) throw new MeterNotFoundError(key);
    return meter;
  }

  /** Ordered by key; the page token carries the last key and the include_archived flag. */
  async list(pageSize: number, pageToken: string, includeArchived: boolean): Promise<MeterPage> {
    const limit = readPageSize(pageSize);
    const after = decodePageToken(pageToken, ["after"], { include_archived: String(includeArchived) })?.after ?? "";
    const rows = await listMeters(this.options.pool, after, limit + 1, includeArchived);
    const meters = rows.slice(0, limit);
    return {
      meters,
      nextPageToken: rows.length > limit ? encodePageToken({ after: meters[meters.length - 1]!.key, include_archived: String(includeArchived) }) : "",
    };
  }

  /** Archives a meter (idempotent); ingest stops matching it as soon as this commits. */
  async archive(key: string): Promise<Meter> {
    if (key === "") throw invalidArgument([{ field: "key", code: "required", message: "key is required" }]);
    const { pool, clock } = this.options;
    return withTransaction(pool, async (client) => {
      const current = await findMeter(client, key);
      if (!current) throw new MeterNotFoundError(key);
      if (current.state === "archived") return current;
      await lockCatalogForChange(client);
      const locked = await findMeter(client, key, true);
      if (!locked || locked.state === "archived") return locked ?? current;
      const now = clock.now();
      const meter = await archiveMeter(client, key, now);
      await enqueue(client, [meterArchivedMessage(meter, now)]);
      return meter;
    });
  }
}

async function writeRollups(client: PoolClient, rollups: RollupAccumulator): Promise<void> {
  await insertUniqueValues(client, rollups.uniqueValues());
  await upsertRollups(client, rollups.rollups());
  rollups.clear();
}

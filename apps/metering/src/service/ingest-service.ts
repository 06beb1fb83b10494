import type { Clock, Logger, Pool } from "@tally/platform";
import { enqueue, TallyError } from "@tally/platform";
import { findEvents, insertEvents, type FoundEvents } from "../adapter/event-store";
import { usageRecordedMessages } from "../adapter/event-messages";
import { beginIngestTransaction } from "../adapter/meter-store";
import { insertUniqueValues, upsertRollups } from "../adapter/rollup-store";
import { StorageUnavailableError } from "../domain/errors";
import { validateEvent, type CheckedEvent } from "../domain/event-validation";
import { idsToLookUp, planInsert, resolveOutcomes, type EventOutcome, type IdSet } from "../domain/record-outcome";
import { RollupAccumulator } from "../domain/rollup";
import type { UsageEventInput, ValidEvent } from "../domain/usage-event";
import { GroupCommit } from "./group-commit";
import type { MeterCatalog } from "./meter-catalog";

export interface IngestServiceOptions {
  pool: Pool;
  clock: Clock;
  logger: Logger;
  catalog: MeterCatalog;
  /** How far back an event time may lie. */
  backfillMs: number;
  /** Most events per shared transaction. */
  maxEventsPerFlush?: number;
  /** Shared transactions allowed to run at once. */
  maxConcurrentFlushes?: number;
}

const NONE: ReadonlySet<string> = new Set();
const NOTHING_FOUND: FoundEvents = { mine: new Set(), stored: new Map() };

/** One event waiting to be recorded, with where it sits in its request (for field names). */
interface PendingEvent {
  input: UsageEventInput;
  path: string;
  receivedAt: Date;
}

/**
 * Records usage events: validation, permanent de-duplication by id, rollups and the
 * UsageRecorded outbox rows, all in one transaction that commits before any caller hears
 * ACCEPTED. Concurrent calls share transactions through {@link GroupCommit}.
 */
export class IngestService {
  private readonly commits: GroupCommit<PendingEvent, EventOutcome>;

  constructor(private readonly options: IngestServiceOptions) {
    this.commits = new GroupCommit((items) => this.flush(items), {
      maxItems: options.maxEventsPerFlush ?? 10_000,
      maxInFlight: options.maxConcurrentFlushes ?? 2,
    });
  }

  /** Record: field names start with "event". */
  async record(input: UsageEventInput): Promise<EventOutcome> {
    const [outcome] = await this.commits.submit([{ input, path: "event", receivedAt: this.options.clock.now() }]);
    return outcome!;
  }

  /** RecordBatch: field names start with "events[i]"; results in request order. */
  recordBatch(inputs: readonly UsageEventInput[]): Promise<EventOutcome[]> {
    const receivedAt = this.options.clock.now();
    return this.commits.submit(inputs.map((input, i) => ({ input, path: `events[${i}]`, receivedAt })));
  }

  /** Waits for queued and running transactions (graceful shutdown). */
  drain(): Promise<void> {
    return this.commits.drain();
  }

  private async flush(items: PendingEvent[]): Promise<EventOutcome[]> {
    const { pool, catalog, clock, backfillMs, logger } = this.options;
    let client;
    try {
      client = await pool.connect();
    } catch (err) {
      logger.error("ingest: no database connection", { err });
      throw new StorageUnavailableError(err);
    }
    let broken = false;
    try {
      const version = await beginIngestTransaction(client);
      await catalog.ensureVersion(client, version);
      // Validated inside the transaction, against the meters of this catalog version, which
      // no meter change can alter before we commit (it waits for our shared lock).
      const metersFor = (eventType: string) => catalog.metersFor(eventType);
      const checked: CheckedEvent[] = items.map((item) => validateEvent(item.input, item.path, { receivedAt: item.receivedAt, backfillMs, metersFor }));

      const plan = planInsert(checked);
      const { candidates } = plan;
      const recordTime = clock.now();
      // Usually every candidate is new: its rollups go in with the insert, in one statement
      // that writes them only if every candidate was indeed inserted.
      const optimistic = new RollupAccumulator();
      for (const event of candidates) optimistic.add(event, recordTime);
      const insertedCount =
        candidates.length > 0
          ? await insertEvents(client, candidates, recordTime, { rollups: optimistic.rollups(), uniqueValues: optimistic.uniqueValues() })
          : 0;
      const allInserted = insertedCount === candidates.length;
      // Otherwise the lookup says which ones were ours.
      let inserted: IdSet | undefined = allInserted ? plan.first : undefined;
      const lookUp = idsToLookUp(checked, inserted ?? NONE);
      const found = lookUp.length > 0 ? await findEvents(client, lookUp) : NOTHING_FOUND;
      inserted ??= found.mine;
      const outcomes = resolveOutcomes(checked, plan, inserted, found.stored);

      const recorded: ValidEvent[] = [];
      for (const o of outcomes) if (o.status === "accepted") recorded.push(o.event);
      if (recorded.length > 0) await enqueue(client, usageRecordedMessages(recorded, recordTime));
      if (!allInserted && recorded.length > 0) {
        // Some ids were taken already: the rollups of exactly the events accepted.
        const rollups = new RollupAccumulator();
        for (const event of recorded) rollups.add(event, recordTime);
        await insertUniqueValues(client, rollups.uniqueValues());
        await upsertRollups(client, rollups.rollups());
      }
      await client.query("COMMIT");
      return outcomes;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {
        broken = true;
      });
      if (err instanceof TallyError) throw err;
      logger.error("ingest transaction failed; its events were not recorded", { events: items.length, err });
      throw new StorageUnavailableError(err);
    } finally {
      client.release(broken);
    }
  }
}

import type { Clock, CommittedPublisher, Logger, MetricCounter, Pool, QueuedMessages } from "@tally/platform";
import { Batcher, continuedTraceparent, enqueue, TallyError, type OutboxMessage } from "@tally/platform";
import { findEvents, insertEvents, RacingInsertError, type FoundEvents } from "../adapter/event-store";
import { usageRecordedMessages } from "../adapter/event-messages";
import { beginIngestTransaction } from "../adapter/meter-store";
import { insertPendingRollups, insertUniqueValues, upsertRollups } from "../adapter/rollup-store";
import { StorageUnavailableError } from "../domain/errors";
import { validateEvent, type CheckedEvent } from "../domain/event-validation";
import { idsToLookUp, planInsert, resolveOutcomes, type EventOutcome, type IdSet, type InsertPlan } from "../domain/record-outcome";
import { RollupAccumulator, type RollupDelta, type UniqueValue } from "../domain/rollup";
import type { UsageEventInput, ValidEvent } from "../domain/usage-event";
import type { Queryable } from "../adapter/queryable";
import type { MeterCatalog } from "./meter-catalog";

/** Where committed pending rollups are announced (RollupFolder: it folds them from memory). */
export interface PendingRollups {
  committed(id: string, rollups: readonly RollupDelta[], uniqueValues: readonly UniqueValue[]): void;
}

export interface IngestServiceOptions {
  pool: Pool;
  /** Publishes the UsageRecorded messages once committed (the outbox relay). */
  outbox: CommittedPublisher;
  clock: Clock;
  logger: Logger;
  catalog: MeterCatalog;
  /** Told of each transaction's pending rollups once committed. */
  pendingRollups?: PendingRollups;
  /**
   * A transaction with at least this many rollup rows (default 5,000) upserts them itself
   * instead of leaving them pending: such spread (an import over a month, say) seldom meets
   * the same rows again before a fold, so deferring saves nothing and would leave the next
   * QueryUsage a large fold to wait for (0.5–1.1 s after 10,000 events over a month).
   */
  directRollupRows?: number;
  /** How far back an event time may lie. */
  backfillMs: number;
  /** Most events per shared transaction. */
  maxEventsPerFlush?: number;
  /** Shared transactions allowed to run at once. */
  maxConcurrentFlushes?: number;
  /** Counts each event's outcome (`tally_events_total{outcome}`). */
  outcomes?: MetricCounter<"outcome">;
}

const NONE: ReadonlySet<string> = new Set();
const NO_ROLLUPS = { rollups: [], uniqueValues: [] };
const NOTHING_FOUND: FoundEvents = { mine: new Set(), stored: new Map() };

/** One event waiting to be recorded, with where it sits in its request (for field names). */
interface PendingEvent {
  input: UsageEventInput;
  path: string;
  receivedAt: Date;
  /**
   * The trace of the call that sent it, if the caller sent one: a transaction carries many
   * calls' events, so each event takes its own call's trace into UsageRecorded.
   */
  traceparent: string | undefined;
}

/**
 * Records usage events: validation, permanent de-duplication by id, pending rollups (folded
 * later by RollupFolder) and the UsageRecorded outbox rows, all in one transaction that commits before any caller hears
 * ACCEPTED. Concurrent calls share transactions through {@link Batcher}.
 */
export class IngestService {
  private readonly commits: Batcher<PendingEvent, EventOutcome>;
  /** Resolves when the flush holding the database turn has sent its last write (see flush). */
  private writeTurn: Promise<void> = Promise.resolve();

  constructor(private readonly options: IngestServiceOptions) {
    this.commits = new Batcher((items) => this.flush(items), {
      maxItems: options.maxEventsPerFlush ?? 10_000,
      maxInFlight: options.maxConcurrentFlushes ?? 2,
    });
  }

  /** Record: field names start with "event". */
  async record(input: UsageEventInput): Promise<EventOutcome> {
    const [outcome] = await this.commits.submit([{ input, path: "event", receivedAt: this.options.clock.now(), traceparent: continuedTraceparent() }]);
    return outcome!;
  }

  /** RecordBatch: field names start with "events[i]"; results in request order. */
  recordBatch(inputs: readonly UsageEventInput[]): Promise<EventOutcome[]> {
    const receivedAt = this.options.clock.now();
    const traceparent = continuedTraceparent();
    return this.commits.submit(inputs.map((input, i) => ({ input, path: batchPath(i), receivedAt, traceparent })));
  }

  /** Waits for queued and running transactions (graceful shutdown). */
  drain(): Promise<void> {
    return this.commits.drain();
  }

  private async flush(items: PendingEvent[]): Promise<EventOutcome[]> {
    const outcomes = await this.writeOnce(items);
    if (this.options.outcomes) countOutcomes(this.options.outcomes, outcomes);
    return outcomes;
  }

  private async writeOnce(items: PendingEvent[]): Promise<EventOutcome[]> {
    try {
      return await this.write(items, { waitForRacingIds: false });
    } catch (err) {
      // Another transaction committed one of these ids while ours was inserting it: nothing of
      // ours was kept; write again, letting the racing ids be judged as duplicates or conflicts.
      if (err instanceof RacingInsertError) return this.write(items, { waitForRacingIds: true });
      throw err;
    }
  }

  /** One transaction recording `items` (see {@link insertEvents} for `waitForRacingIds`). */
  private async write(items: PendingEvent[], { waitForRacingIds }: { waitForRacingIds: boolean }): Promise<EventOutcome[]> {
    const { pool, catalog, logger } = this.options;
    let client;
    try {
      client = await pool.connect();
    } catch (err) {
      logger.error("ingest: no database connection", { err });
      throw new StorageUnavailableError(err);
    }
    let broken = false;
    let releaseTurn = () => {};
    try {
      // BEGIN (with the catalog's shared lock and version) is in flight while the events are
      // prepared against the cached meters; should the transaction see another catalog version,
      // the meters are reloaded and the events prepared again. Either way they are validated
      // against the meters of this transaction's version, which no meter change can alter
      // before we commit (it waits for our shared lock).
      const begun = beginIngestTransaction(client);
      void begun.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
      const cachedVersion = catalog.loadedVersion;
      let prepared = cachedVersion !== undefined ? this.prepare(items) : undefined;
      const version = await begun;
      if (!prepared || version !== cachedVersion) {
        await catalog.ensureVersion(client, version);
        prepared = this.prepare(items);
      }
      const { checked, plan, recordTime, rollups, uniqueValues, allValid, optimisticMessages } = prepared;
      const { candidates } = plan;
      // Concurrent flushes overlap their JavaScript work (above) with each other's writes, but
      // take turns for the writes themselves: they touch the same rollup rows and index pages,
      // so running them side by side only made the second wait on the first's row locks and
      // cost Postgres ≈ 10 % more CPU per event (bench: 11.0 → 9.9 µs, events/s +4 %). The
      // turn passes on just before COMMIT, so the next flush's writes overlap this one's fsync.
      const previousTurn = this.writeTurn;
      this.writeTurn = new Promise<void>((resolve) => (releaseTurn = resolve));
      await previousTurn;
      const direct = this.isDirect(rollups, uniqueValues);
      const inserted =
        candidates.length > 0
          ? await insertEvents(client, candidates, recordTime, direct ? NO_ROLLUPS : { rollups, uniqueValues }, { waitForRacingIds })
          : { inserted: 0, pendingId: undefined };
      const allInserted = inserted.inserted === candidates.length;
      let pending = inserted.pendingId !== undefined ? { id: inserted.pendingId, rollups, uniqueValues } : undefined;
      let outcomes: EventOutcome[];
      let recorded: ValidEvent[];
      let messages: OutboxMessage[] | undefined;
      if (allInserted && allValid) {
        // The usual case: every event valid, its id's only occurrence, and inserted. Nothing
        // to look up; all ACCEPTED. (Same result as below, without a lookup per event.)
        recorded = allValid;
        outcomes = recorded.map((event): EventOutcome => ({ status: "accepted", event }));
        messages = optimisticMessages;
      } else {
        // Otherwise the lookup says which ones were ours.
        let inserted: IdSet | undefined = allInserted ? plan.first : undefined;
        const lookUp = idsToLookUp(checked, inserted ?? NONE);
        const found = lookUp.length > 0 ? await findEvents(client, lookUp) : NOTHING_FOUND;
        inserted ??= found.mine;
        outcomes = resolveOutcomes(checked, plan, inserted, found.stored);
        recorded = [];
        const traces: (string | undefined)[] = [];
        outcomes.forEach((o, i) => {
          if (o.status !== "accepted") return;
          recorded.push(o.event);
          traces.push(items[i]!.traceparent);
        });
        if (recorded.length > 0) messages = usageRecordedMessages(recorded, recordTime, traces);
      }
      // The relay publishes these from memory once committed; nobody else needs waking.
      const queued: QueuedMessages | undefined = messages && messages.length > 0 ? await enqueue(client, messages, { notify: false }) : undefined;
      if (allInserted && direct) await writeRollups(client, rollups, uniqueValues);
      if (!allInserted && recorded.length > 0) {
        // Some ids were taken already: the rollups of exactly the events accepted.
        const accepted = new RollupAccumulator();
        for (const event of recorded) accepted.add(event, recordTime);
        const deltas = accepted.rollups();
        const values = accepted.uniqueValues();
        if (this.isDirect(deltas, values)) await writeRollups(client, deltas, values);
        else {
          const id = await insertPendingRollups(client, deltas, values);
          if (id !== undefined) pending = { id, rollups: deltas, uniqueValues: values };
        }
      }
      releaseTurn();
      await client.query("COMMIT");
      if (queued) this.options.outbox.publishCommitted(queued);
      if (pending) this.options.pendingRollups?.committed(pending.id, pending.rollups, pending.uniqueValues);
      return outcomes;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {
        broken = true;
      });
      if (err instanceof TallyError || err instanceof RacingInsertError) throw err;
      logger.error("ingest transaction failed; its events were not recorded", { events: items.length, err });
      throw new StorageUnavailableError(err);
    } finally {
      releaseTurn();
      client.release(broken);
    }
  }

  private isDirect(rollups: readonly RollupDelta[], uniqueValues: readonly UniqueValue[]): boolean {
    return rollups.length + uniqueValues.length >= (this.options.directRollupRows ?? 5_000);
  }

  /**
   * Everything a transaction computes before it writes: validation against the cached meters,
   * the insert plan and, assuming every candidate is new (the usual case), their rollups and
   * UsageRecorded messages.
   */
  private prepare(items: PendingEvent[]): PreparedFlush {
    const { catalog, clock, backfillMs } = this.options;
    const metersFor = (eventType: string) => catalog.metersFor(eventType);
    const checked: CheckedEvent[] = items.map((item) => validateEvent(item.input, item.path, { receivedAt: item.receivedAt, backfillMs, metersFor }));
    const plan = planInsert(checked);
    const recordTime = clock.now();
    // Usually every candidate is new: its rollups go in with the insert, in one statement
    // that writes them only if every candidate was indeed inserted.
    const optimistic = new RollupAccumulator();
    for (const event of plan.candidates) optimistic.add(event, recordTime);
    // Every event valid and its id's only occurrence: if all get inserted, all are ACCEPTED
    // and published in request order. Their messages are encoded before taking the turn.
    const allValid = plan.candidates.length === checked.length ? validEvents(checked) : undefined;
    return {
      checked,
      plan,
      recordTime,
      rollups: optimistic.rollups(),
      uniqueValues: optimistic.uniqueValues(),
      allValid,
      optimisticMessages: allValid && allValid.length > 0 ? usageRecordedMessages(allValid, recordTime, callTraces(items)) : undefined,
    };
  }
}

interface PreparedFlush {
  checked: CheckedEvent[];
  plan: InsertPlan;
  recordTime: Date;
  rollups: RollupDelta[];
  uniqueValues: UniqueValue[];
  allValid: ValidEvent[] | undefined;
  optimisticMessages: OutboxMessage[] | undefined;
}


/**
 * Upserts rollups inside the ingest transaction (see directRollupRows): unique values, then
 * rollups, each sorted — the lock order of every writer of these tables, folds included.
 */
async function writeRollups(client: Queryable, rollups: readonly RollupDelta[], uniqueValues: readonly UniqueValue[]): Promise<void> {
  await insertUniqueValues(client, uniqueValues);
  await upsertRollups(client, rollups);
}

/** "events[i]", built once per position rather than once per event recorded. */
const BATCH_PATHS: string[] = [];
function batchPath(i: number): string {
  return (BATCH_PATHS[i] ??= `events[${i}]`);
}

/** Each item's call's trace, in order; undefined when no call sent one (the usual case, no array). */
function callTraces(items: readonly PendingEvent[]): (string | undefined)[] | undefined {
  return items.some((item) => item.traceparent !== undefined) ? items.map((item) => item.traceparent) : undefined;
}

/** The events of checked events that are all valid (the caller knows). */
function validEvents(checked: readonly CheckedEvent[]): ValidEvent[] {
  return checked.map((c) => (c as Extract<CheckedEvent, { kind: "valid" }>).event);
}

/** One counter update per outcome seen, not per event: a flush holds up to 10,000 events. */
function countOutcomes(counter: MetricCounter<"outcome">, outcomes: readonly EventOutcome[]): void {
  const counts = new Map<EventOutcome["status"], number>();
  for (const o of outcomes) counts.set(o.status, (counts.get(o.status) ?? 0) + 1);
  for (const [outcome, n] of counts) counter.inc({ outcome }, n);
}

import type { Pool, PoolClient } from "pg";
import type { EventBus } from "../nats/event-bus";
import type { Logger } from "../logging/logger";
import type { MetricCounter } from "../metrics/service-metrics";
import { currentTraceparent } from "../logging/trace-context";

export interface OutboxMessage {
  /** Logical subject, e.g. `tally.metering.v1.usage.recorded` (the bus adds any prefix). */
  subject: string;
  /** Unique per message; becomes the JetStream msgID so a re-publish is stored once. */
  msgId: string;
  payload: Uint8Array;
  /** W3C trace context sent as the NATS `traceparent` header; {@link enqueue} sets the caller's. */
  traceparent?: string;
}

const CHANNEL = "tally_outbox";

/** Rows per INSERT statement (four parameters each). */
const ROWS_PER_STATEMENT = 100;

/** Messages written by {@link enqueue}, with their row ids, for {@link OutboxRelay.publishCommitted}. */
export interface QueuedMessages {
  ids: string[];
  messages: OutboxMessage[];
}

/** Publishes what the caller just committed (the relay; tests may stand in a process that dies first). */
export interface CommittedPublisher {
  publishCommitted(queued: QueuedMessages): void;
}

export interface EnqueueOptions {
  /**
   * Wake the relays with NOTIFY at commit (default). Pass false when the caller hands the
   * result to {@link OutboxRelay.publishCommitted} after committing: then nobody needs waking,
   * and a relay woken for these rows would only publish them a second time.
   */
  notify?: boolean;
}

/**
 * Writes messages in the caller's transaction: they exist if and only if the
 * change they describe was committed. NOTIFY is delivered at commit, waking
 * the relay without polling.
 *
 * One round trip for up to {@link ROWS_PER_STATEMENT} messages, the NOTIFY included. Each
 * payload is its own parameter: pg sends a Buffer parameter as raw binary, whereas a
 * `bytea[]` parameter is hex-escaped text (twice the bytes, built in JavaScript and parsed
 * again by Postgres) — for large payloads that was most of the cost of enqueueing.
 */
export async function enqueue(client: PoolClient, given: OutboxMessage[], { notify = true }: EnqueueOptions = {}): Promise<QueuedMessages> {
  // The trace of the call or message being handled travels with what it announces.
  const traceparent = currentTraceparent();
  const messages = traceparent ? given.map((m) => (m.traceparent ? m : { ...m, traceparent })) : given;
  const ids: string[] = [];
  for (let start = 0; start < messages.length; start += ROWS_PER_STATEMENT) {
    const chunk = messages.slice(start, start + ROWS_PER_STATEMENT);
    const last = start + ROWS_PER_STATEMENT >= messages.length;
    const values: unknown[] = [];
    const rows: string[] = [];
    for (const m of chunk) {
      const n = values.length;
      rows.push(`($${n + 1}, $${n + 2}, $${n + 3}::bytea, $${n + 4})`);
      values.push(m.subject, m.msgId, Buffer.isBuffer(m.payload) ? m.payload : Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength), m.traceparent ?? null);
    }
    // A data-modifying CTE runs to completion whether or not the outer query reads it. Ids are
    // assigned in VALUES order.
    const { rows: result } = await client.query<{ ids: string[] }>(
      `WITH queued AS (INSERT INTO outbox (subject, msg_id, payload, traceparent) VALUES ${rows.join(", ")} RETURNING id)
       SELECT (SELECT array_agg(id::text ORDER BY id) FROM queued) AS ids
              ${last && notify ? `, pg_notify('${CHANNEL}_' || current_schema(), '')` : ""}`,
      values,
    );
    ids.push(...result[0]!.ids);
  }
  return { ids, messages };
}

export interface OutboxRelayOptions {
  pool: Pool;
  bus: EventBus;
  schema: string;
  logger: Logger;
  batchSize?: number;
  /** Poll anyway this often, in case a notification was missed (e.g. during a reconnect). */
  pollIntervalMs?: number;
  /** Counts each message JetStream stored for the first time (a duplicate ack is not counted). */
  published?: MetricCounter<"subject">;
}

/**
 * Publishes committed outbox rows to JetStream and deletes them once acked.
 *
 * Why nothing is lost or doubled: a row is deleted only after its publish is
 * acked, so a crash before the delete re-publishes it on restart; the msgID
 * makes JetStream store that second publish once (duplicate window), and
 * consumers are idempotent beyond it. Rows are claimed with SKIP LOCKED, so
 * several instances of a service can relay side by side.
 */
export class OutboxRelay implements CommittedPublisher {
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private pending = false;
  private listener: PoolClient | undefined;
  /** publishCommitted work still running (stop waits for it). */
  private readonly publishing = new Set<Promise<void>>();

  constructor(private readonly options: OutboxRelayOptions) {}

  /**
   * Publishes messages the caller has just committed (enqueued with `notify: false`) from
   * memory, instead of the relay reading them back: the payloads, hundreds of kB for a large
   * ingest batch, then cross the Postgres connection once instead of twice (and as hex text on
   * the way back). Returns at once; the publish runs in the background.
   *
   * Publish first, then delete the rows, in one autocommit statement: a crash in between leaves
   * the rows for the loop to publish again, which the msgID makes JetStream store once — the
   * relay's own guarantee. The loop is not woken for these rows (no NOTIFY), so it rarely sees
   * them, and if it does, that is the same harmless double publish. If publishing fails the rows
   * stay, and the loop is woken to send them.
   */
  publishCommitted(queued: QueuedMessages): void {
    if (queued.ids.length === 0) return;
    const work = this.publishFromMemory(queued).catch((err: unknown) => {
      this.options.logger.warn("outbox: publishing committed messages failed; the relay retries them", { err });
      this.poke();
    });
    this.publishing.add(work);
    void work.finally(() => this.publishing.delete(work));
  }

  private async publishFromMemory({ ids, messages }: QueuedMessages): Promise<void> {
    const { pool } = this.options;
    await Promise.all(messages.map((m) => this.publish(m.subject, m.payload, m.msgId, m.traceparent)));
    await pool.query("DELETE FROM outbox WHERE id = ANY($1::bigint[])", [ids]);
  }

  /**
   * One publish, counted once stored: with msgIDs derived from the fact (one per state change),
   * `tally_events_published_total{subject}` counts each fact once, after its commit, however
   * often a crash or a race made us send it (within JetStream's duplicate window).
   */
  private async publish(subject: string, payload: Uint8Array, msgId: string, traceparent: string | undefined): Promise<void> {
    const { duplicate } = await this.options.bus.publish(subject, payload, msgId, traceparent);
    if (!duplicate) this.options.published?.inc({ subject });
  }

  /** Resolves when every publishCommitted so far has finished, published or handed back to the loop. */
  async whenPublished(): Promise<void> {
    await Promise.all(this.publishing);
  }

  async start(): Promise<void> {
    await this.listen();
    this.running = true;
    this.loop = this.run();
  }

  /** A dedicated connection for LISTEN; if it drops, polling carries on and the next loop re-listens. */
  private async listen(): Promise<void> {
    const { pool, schema, logger } = this.options;
    const listener = await pool.connect();
    listener.on("notification", () => this.poke());
    listener.on("error", (err) => {
      logger.warn("outbox listener lost; falling back to polling until it reconnects", { err });
      if (this.listener === listener) this.listener = undefined;
      listener.release(err);
    });
    await listener.query(`LISTEN ${CHANNEL}_${schema}`);
    this.listener = listener;
  }

  /** Publishes everything committed so far. */
  async flush(): Promise<number> {
    let total = 0;
    for (let n = await this.relayOnce(); n > 0; n = await this.relayOnce()) total += n;
    return total;
  }

  /** Stops the loop after a final flush, so a graceful shutdown leaves nothing behind. */
  async stop(): Promise<void> {
    this.running = false;
    this.poke();
    await this.loop;
    await this.whenPublished();
    if (this.listener) {
      await this.listener.query(`UNLISTEN *`).catch(() => undefined);
      this.listener.release();
      this.listener = undefined;
    }
    await this.flush();
  }

  private poke(): void {
    this.pending = true;
    this.wake?.();
  }

  private async run(): Promise<void> {
    const { logger, pollIntervalMs = 1000 } = this.options;
    while (this.running) {
      this.pending = false;
      try {
        if (!this.listener) await this.listen();
        if ((await this.relayOnce()) > 0) continue;
      } catch (err) {
        logger.warn("outbox relay failed; retrying", { err });
        await sleep(500);
      }
      if (!this.pending && this.running) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pollIntervalMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  /** One claimed batch: publish all, wait for every ack, delete. Returns how many rows were sent. */
  async relayOnce(): Promise<number> {
    const { pool, batchSize = 200 } = this.options;
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const { rows } = await client.query<{ id: string; subject: string; msg_id: string; payload: Buffer; traceparent: string | null }>(
        `SELECT id, subject, msg_id, payload, traceparent FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [batchSize],
      );
      if (rows.length === 0) {
        await client.query("COMMIT");
        return 0;
      }
      await Promise.all(rows.map((row) => this.publish(row.subject, row.payload, row.msg_id, row.traceparent ?? undefined)));
      await client.query("DELETE FROM outbox WHERE id = ANY($1::bigint[])", [rows.map((r) => r.id)]);
      await client.query("COMMIT");
      return rows.length;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

import {
  AckPolicy,
  connect,
  DeliverPolicy,
  Events,
  headers as natsHeaders,
  nanos,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type MsgHdrs,
  type NatsConnection,
  type StreamConfig,
} from "nats";
import type { Logger } from "../logging/logger";
import { runInTrace, TRACEPARENT_HEADER } from "../logging/trace-context";
import { parseNatsServers } from "./nats-servers";
import { withProvisioningRetry } from "./provisioning-retry";
import { deadLetter, DEFAULT_REDELIVERY, ensureDeadLetterStream, type RedeliveryPolicy } from "./dead-letter";

/**
 * The service that owns a stream, by name (`rating`): `tally.rating.v1.>` lives in stream
 * `TALLY_RATING`. The platform does not know which services exist; @tally/contracts' subject
 * registry does.
 */
export type StreamOwner = string;

export interface EventBusOptions {
  /** One server, several, or a comma-separated list (`nats://a:4222,nats://b:4222`): see parseNatsServers. */
  url: string | string[];
  /**
   * Prepended to every subject and stream name. Empty in production; tests
   * use a unique one so runs never see each other's messages.
   */
  prefix?: string;
  name?: string;
  /**
   * Copies JetStream keeps of each stream this bus creates (consumers inherit it): 1 on a single
   * server, 3 on a 3-node cluster so that losing a node loses nothing and stops nothing.
   */
  replicas?: number;
}

/** Reconnect waits: doubled from 100 ms up to 5 s, reset once connected again. Jitter spreads many clients. */
const RECONNECT = { firstMs: 100, maxMs: 5_000, jitterMs: 100 };

const OWNER = /^[a-z][a-z_]{0,30}$/;

/** How long provisioning waits for a forming cluster before the service gives up starting. */
const PROVISIONING_MAX_WAIT_MS = 60_000;

/**
 * One NATS connection with JetStream, and the naming rules for subjects and
 * streams in one place.
 */
export class EventBus {
  /** Every durable this process consumes, for the lag gauges (see registerConsumerLagGauges). */
  readonly durables = new Map<string, { owner: StreamOwner; durable: string }>();

  private constructor(
    readonly connection: NatsConnection,
    readonly jetstream: JetStreamClient,
    readonly manager: JetStreamManager,
    readonly prefix: string,
    readonly replicas: number,
  ) {}

  /**
   * Connects to any of the servers, waiting (with backoff, for ever) while none answers, and
   * from then on reconnects on its own to whichever server is up, with backoff. What this
   * process has in flight meanwhile fails and is retried by its caller (the outbox, a consumer's
   * redelivery); health reports the outage (watchNatsConnection).
   */
  static async connect(options: EventBusOptions): Promise<EventBus> {
    const servers = typeof options.url === "string" ? parseNatsServers(options.url) : options.url;
    let attempt = 0;
    const connection = await connect({
      servers,
      name: options.name,
      waitOnFirstConnect: true,
      maxReconnectAttempts: -1,
      reconnectDelayHandler: () => Math.min(RECONNECT.firstMs * 2 ** attempt++, RECONNECT.maxMs) + Math.random() * RECONNECT.jitterMs,
    });
    void (async () => {
      for await (const status of connection.status()) if (status.type === Events.Reconnect) attempt = 0;
    })().catch(() => undefined);
    const manager = await connection.jetstreamManager();
    return new EventBus(connection, connection.jetstream(), manager, options.prefix ?? "", options.replicas ?? 1);
  }

  /** `tally.metering.v1.usage.recorded` → the subject actually used on the wire. */
  subject(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  /** The wire subject → the logical one consumers see (the deployment prefix removed). */
  logicalSubject(wire: string): string {
    return this.prefix && wire.startsWith(`${this.prefix}.`) ? wire.slice(this.prefix.length + 1) : wire;
  }

  streamName(owner: StreamOwner): string {
    const base = `TALLY_${owner.toUpperCase()}`;
    return this.prefix ? `${this.prefix.replace(/[^A-Za-z0-9_-]/g, "_")}_${base}` : base;
  }

  /**
   * Creates the owner's stream if missing. Both the publisher and every
   * consumer call this, so start order between services does not matter.
   * The duplicate window is what makes outbox re-publishes after a crash
   * harmless: the same msgID inside it is stored once.
   */
  async ensureStream(owner: StreamOwner): Promise<string> {
    if (!OWNER.test(owner)) throw new Error(`invalid stream owner "${owner}"`);
    const name = this.streamName(owner);
    await this.ensureStreamWith(name, {
      subjects: [this.subject(`tally.${owner}.v1.>`)],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(7 * 24 * 3600 * 1000),
    });
    return name;
  }

  /** Creates stream `name` with `config` (a 2-minute duplicate window and this bus's replica count unless it says otherwise) unless it exists. */
  async ensureStreamWith(name: string, config: Partial<StreamConfig>): Promise<void> {
    await this.provision(`stream ${name}`, async () => {
      try {
        await this.manager.streams.info(name);
      } catch {
        try {
          await this.manager.streams.add({ duplicate_window: nanos(2 * 60 * 1000), num_replicas: this.replicas, ...config, name });
        } catch (err) {
          // Another instance created it between our look and our add.
          await this.manager.streams.info(name).catch(() => {
            throw err;
          });
        }
      }
    });
  }

  /** Provisioning waits out a cluster that is forming or electing (see withProvisioningRetry). */
  private provision(what: string, attempt: () => Promise<void>): Promise<void> {
    return withProvisioningRetry(attempt, { maxWaitMs: PROVISIONING_MAX_WAIT_MS }).catch((err: unknown) => {
      throw new Error(`nats: could not provision ${what}: ${String(err)}`, { cause: err });
    });
  }

  /** Publishes and waits for JetStream's ack; `duplicate` is true when the msgID was already stored. */
  async publish(subjectName: string, payload: Uint8Array, msgId: string, traceparent?: string): Promise<{ duplicate: boolean; seq: number }> {
    let headers: MsgHdrs | undefined;
    if (traceparent) {
      headers = natsHeaders();
      headers.set(TRACEPARENT_HEADER, traceparent);
    }
    const ack = await this.jetstream.publish(this.subject(subjectName), payload, { msgID: msgId, ...(headers && { headers }) });
    return { duplicate: ack.duplicate, seq: ack.seq };
  }

  /**
   * A durable pull consumer shared by every instance of a service: JetStream
   * hands each message to one of them, which is how rating scales out. One
   * filter subject (wildcards allowed): nats-server 2.9 has no multi-filter consumers.
   * `max_deliver` is one more than the policy's: the consumer dead-letters on the policy's last
   * delivery, and the server's bound only matters if it crashes doing so.
   */
  async ensureConsumer(owner: StreamOwner, durable: string, filterSubject: string, ackWaitMs = 30_000, redelivery: RedeliveryPolicy = DEFAULT_REDELIVERY): Promise<void> {
    const stream = await this.ensureStream(owner);
    this.durables.set(`${owner}/${durable}`, { owner, durable });
    const config = {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(ackWaitMs),
      max_ack_pending: 20_000,
      max_deliver: redelivery.maxDeliver + 1,
      filter_subject: this.subject(filterSubject),
    };
    await this.provision(`consumer ${stream}/${durable}`, async () => {
      try {
        await this.manager.consumers.info(stream, durable);
      } catch {
        await this.manager.consumers.add(stream, config).catch(async (err: unknown) => {
          await this.manager.consumers.info(stream, durable).catch(() => {
            throw err;
          });
        });
      }
    });
  }

  /** Deletes every stream with this bus's prefix: for tests. */
  async deletePrefixedStreams(): Promise<void> {
    if (!this.prefix) throw new Error("refusing to delete unprefixed streams");
    const mine = `${this.prefix.replace(/[^A-Za-z0-9_-]/g, "_")}_`;
    const names: string[] = [];
    for await (const name of this.manager.streams.names()) if (name.startsWith(mine)) names.push(name);
    for (const name of names) await this.manager.streams.delete(name).catch(() => false);
  }

  async close(): Promise<void> {
    if (this.connection.isClosed()) return;
    await this.connection.drain().catch(() => this.connection.close());
  }
}

export type { JsMsg };

/** A message as a consumer's handler sees it. */
export interface ReceivedEvent {
  /** The logical subject, e.g. `tally.rating.v1.usage.rated` (never the deployment prefix). */
  subject: string;
  data: Uint8Array;
  /** Stream sequence, for logs. */
  seq: number;
  /** 1 on the first delivery. */
  deliveries: number;
  /** The W3C trace context of the call that caused it, when it had one. */
  traceparent?: string;
}

export interface ConsumeOptions {
  bus: EventBus;
  owner: StreamOwner;
  durable: string;
  /** Logical subject filter, e.g. `tally.rating.v1.>`. */
  subject: string;
  /**
   * Handles a batch of messages. Resolving acks them all. Throwing makes the consumer retry the
   * batch's messages one at a time, so that only the ones that fail again are redelivered (with
   * backoff) and, after `redelivery.maxDeliver` deliveries, dead-lettered. A handler must be
   * idempotent: it may see a message again.
   */
  handle: (messages: ReceivedEvent[]) => Promise<void>;
  logger: Logger;
  /** Most messages handed to one `handle` call. */
  maxBatch?: number;
  ackWaitMs?: number;
  redelivery?: RedeliveryPolicy;
}

export interface RunningConsumer {
  /** Stops pulling, finishes the batch in hand, and resolves. */
  stop(): Promise<void>;
}

/**
 * Pulls continuously and hands whatever has arrived to `handle` in batches:
 * when the handler is slower than the stream, batches grow (fewer, larger
 * transactions); when it is idle, a single message goes through at once.
 */
export async function startConsumer(options: ConsumeOptions): Promise<RunningConsumer> {
  const { bus, logger, maxBatch = 500, durable, redelivery = DEFAULT_REDELIVERY } = options;
  await ensureDeadLetterStream(bus);
  await bus.ensureConsumer(options.owner, durable, options.subject, options.ackWaitMs, redelivery);
  const consumer = await bus.jetstream.consumers.get(bus.streamName(options.owner), durable);
  const messages = await consumer.consume({ max_messages: Math.max(maxBatch * 2, 100) });
  const buffer: JsMsg[] = [];
  let wake: (() => void) | undefined;
  let stopping = false;
  const received = (m: JsMsg): ReceivedEvent => ({
    subject: bus.logicalSubject(m.subject),
    data: m.data,
    seq: m.seq,
    deliveries: m.info.redeliveryCount,
    traceparent: m.headers?.get(TRACEPARENT_HEADER) || undefined,
  });
  /**
   * Handles messages in the trace of the first one that has a trace context: a batch (and a
   * group-committed message) can hold several callers' work, and its log lines carry one of
   * their trace ids — every message alone, as on a retry, carries its own.
   */
  const handle = (events: ReceivedEvent[]) => runInTrace(events.find((e) => e.traceparent)?.traceparent, () => options.handle(events));

  /** A message whose handling failed: redelivered after a backoff, or dead-lettered on its last delivery. */
  const settleFailed = async (m: JsMsg, err: unknown): Promise<void> => {
    const deliveries = m.info.redeliveryCount;
    const subject = bus.logicalSubject(m.subject);
    if (deliveries >= redelivery.maxDeliver) {
      logger.error("event dead-lettered", { durable, subject, seq: m.seq, deliveries, err });
      await deadLetter(bus, m, durable, err);
      return;
    }
    const delayMs = redelivery.backoffMs[Math.min(deliveries, redelivery.backoffMs.length) - 1] ?? 0;
    logger.warn("event failed; will be redelivered", { durable, subject, seq: m.seq, deliveries, delayMs, err });
    m.nak(delayMs);
  };

  /** Handles one message alone, so that only the messages that fail on their own are redelivered. */
  const handleAlone = async (m: JsMsg): Promise<void> => {
    try {
      await handle([received(m)]);
    } catch (err) {
      await settleFailed(m, err);
      return;
    }
    m.ack();
  };

  const pump = (async () => {
    for await (const message of messages) {
      buffer.push(message);
      wake?.();
    }
    stopping = true;
    wake?.();
  })();

  const worker = (async () => {
    for (;;) {
      if (buffer.length === 0) {
        if (stopping) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      const batch = buffer.splice(0, maxBatch);
      try {
        await handle(batch.map(received));
        for (const m of batch) m.ack();
      } catch (err) {
        // One message's problem must not hold back (or dead-letter) the others: retry them one by one.
        if (batch.length > 1) logger.warn("event batch failed; handling its messages one by one", { durable, size: batch.length, err });
        for (const m of batch) {
          await (batch.length === 1 ? settleFailed(m, err) : handleAlone(m)).catch((natsErr: unknown) => {
            // NATS itself failed (the dead-letter publish): leave the message unacked; ack_wait redelivers it.
            logger.error("could not settle a failed event", { durable, seq: m.seq, err: natsErr });
          });
        }
      }
    }
  })();

  return {
    async stop() {
      await messages.close();
      await pump.catch(() => undefined);
      stopping = true;
      wake?.();
      await worker;
    },
  };
}

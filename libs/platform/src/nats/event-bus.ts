import {
  AckPolicy,
  connect,
  DeliverPolicy,
  nanos,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
} from "nats";
import type { Logger } from "../logging/logger";

/** The services that own a stream: `tally.<service>.v1.>` lives in stream `TALLY_<SERVICE>`. */
export type StreamOwner = "metering" | "rating" | "limits" | "invoicing" | "payments";

export interface EventBusOptions {
  url: string;
  /**
   * Prepended to every subject and stream name. Empty in production; tests
   * use a unique one so runs never see each other's messages.
   */
  prefix?: string;
  name?: string;
}

/**
 * One NATS connection with JetStream, and the naming rules for subjects and
 * streams in one place.
 */
export class EventBus {
  private constructor(
    readonly connection: NatsConnection,
    readonly jetstream: JetStreamClient,
    readonly manager: JetStreamManager,
    readonly prefix: string,
  ) {}

  static async connect(options: EventBusOptions): Promise<EventBus> {
    const connection = await connect({ servers: options.url, name: options.name, maxReconnectAttempts: -1 });
    const manager = await connection.jetstreamManager();
    return new EventBus(connection, connection.jetstream(), manager, options.prefix ?? "");
  }

  /** `tally.metering.v1.usage.recorded` → the subject actually used on the wire. */
  subject(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
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
    const name = this.streamName(owner);
    const config = {
      name,
      subjects: [this.subject(`tally.${owner}.v1.>`)],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(7 * 24 * 3600 * 1000),
      duplicate_window: nanos(2 * 60 * 1000),
    };
    try {
      await this.manager.streams.info(name);
    } catch {
      try {
        await this.manager.streams.add(config);
      } catch (err) {
        // Another instance created it between our look and our add.
        await this.manager.streams.info(name).catch(() => {
          throw err;
        });
      }
    }
    return name;
  }

  /** Publishes and waits for JetStream's ack; `duplicate` is true when the msgID was already stored. */
  async publish(subjectName: string, payload: Uint8Array, msgId: string): Promise<{ duplicate: boolean; seq: number }> {
    const ack = await this.jetstream.publish(this.subject(subjectName), payload, { msgID: msgId });
    return { duplicate: ack.duplicate, seq: ack.seq };
  }

  /**
   * A durable pull consumer shared by every instance of a service: JetStream
   * hands each message to one of them, which is how rating scales out. One
   * filter subject (wildcards allowed): nats-server 2.9 has no multi-filter consumers.
   */
  async ensureConsumer(owner: StreamOwner, durable: string, filterSubject: string, ackWaitMs = 30_000): Promise<void> {
    const stream = await this.ensureStream(owner);
    const config = {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(ackWaitMs),
      max_ack_pending: 20_000,
      filter_subject: this.subject(filterSubject),
    };
    try {
      await this.manager.consumers.info(stream, durable);
    } catch {
      await this.manager.consumers.add(stream, config).catch(async (err: unknown) => {
        await this.manager.consumers.info(stream, durable).catch(() => {
          throw err;
        });
      });
    }
  }

  /** Deletes every stream with this bus's prefix: for tests. */
  async deletePrefixedStreams(): Promise<void> {
    if (!this.prefix) throw new Error("refusing to delete unprefixed streams");
    for (const owner of ["metering", "rating", "limits", "invoicing", "payments"] as const) {
      await this.manager.streams.delete(this.streamName(owner)).catch(() => false);
    }
  }

  async close(): Promise<void> {
    if (this.connection.isClosed()) return;
    await this.connection.drain().catch(() => this.connection.close());
  }
}

export type { JsMsg };

export interface ConsumeOptions {
  bus: EventBus;
  owner: StreamOwner;
  durable: string;
  /** Logical subject filter, e.g. `tally.rating.v1.>`. */
  subject: string;
  /**
   * Handles a batch of messages. Resolving acks them all; throwing naks them
   * all for redelivery, so a handler must be idempotent (it is told each
   * message's id and delivery count).
   */
  handle: (messages: JsMsg[]) => Promise<void>;
  logger: Logger;
  /** Most messages handed to one `handle` call. */
  maxBatch?: number;
  ackWaitMs?: number;
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
  const { bus, logger, maxBatch = 500 } = options;
  await bus.ensureConsumer(options.owner, options.durable, options.subject, options.ackWaitMs);
  const consumer = await bus.jetstream.consumers.get(bus.streamName(options.owner), options.durable);
  const messages = await consumer.consume({ max_messages: Math.max(maxBatch * 2, 100) });
  const buffer: JsMsg[] = [];
  let wake: (() => void) | undefined;
  let stopping = false;

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
        await options.handle(batch);
        for (const m of batch) m.ack();
      } catch (err) {
        logger.error("event batch failed; will be redelivered", { durable: options.durable, size: batch.length, err });
        for (const m of batch) m.nak(1000);
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

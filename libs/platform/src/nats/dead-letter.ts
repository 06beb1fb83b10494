import { headers as natsHeaders, RetentionPolicy, StorageType, type JsMsg } from "nats";
import type { EventBus } from "./event-bus";

/**
 * The one rule for a message a consumer cannot process: bounded redelivery with backoff, then the
 * dead-letter stream, which keeps the message whole (payload and original headers), counts it,
 * lists it and replays it on an admin's command. Never dropped silently, never redelivered forever.
 */
export interface RedeliveryPolicy {
  /** Deliveries in all (the first included) before a message is dead-lettered. */
  maxDeliver: number;
  /** Wait before redelivery n+1 after a failed delivery n (the last value repeats), ms. */
  backoffMs: readonly number[];
}

export const DEFAULT_REDELIVERY: RedeliveryPolicy = { maxDeliver: 5, backoffMs: [1_000, 5_000, 30_000, 120_000] };

/** The logical subject dead letters of one durable consumer are kept under. */
const deadLetterSubject = (durable: string) => `tally.dead_letter.${durable}`;
const STREAM = "DEAD_LETTERS";

const H = {
  subject: "Tally-Original-Subject",
  stream: "Tally-Original-Stream",
  streamSeq: "Tally-Original-Seq",
  msgId: "Tally-Original-Msg-Id",
  consumer: "Tally-Consumer",
  deliveries: "Tally-Deliveries",
  error: "Tally-Error",
} as const;

/** One dead letter, as listed. `subject` is the original logical subject (no deployment prefix). */
export interface DeadLetter {
  /** Its sequence in the dead-letter stream: what `replay` takes. */
  seq: number;
  consumer: string;
  subject: string;
  originalStream: string;
  originalSeq: number;
  originalMsgId: string;
  deliveries: number;
  error: string;
  time: Date;
  data: Uint8Array;
}

export function deadLetterStreamName(bus: EventBus): string {
  return bus.streamName(STREAM);
}

/** Creates the dead-letter stream if missing (no age limit: a dead letter waits for an admin). */
export async function ensureDeadLetterStream(bus: EventBus): Promise<string> {
  const name = deadLetterStreamName(bus);
  await bus.ensureStreamWith(name, {
    subjects: [bus.subject("tally.dead_letter.>")],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
  });
  return name;
}

/**
 * Stores `message` in the dead-letter stream, then terminates it on its consumer (no more
 * deliveries). Published under a msgID derived from the original's stream sequence, so a crash
 * between the two steps stores it once.
 */
export async function deadLetter(bus: EventBus, message: JsMsg, durable: string, error: unknown): Promise<void> {
  const h = natsHeaders();
  for (const [key, values] of message.headers ?? []) for (const value of values) h.append(key, value);
  h.set(H.subject, bus.logicalSubject(message.subject));
  h.set(H.stream, message.info.stream);
  h.set(H.streamSeq, String(message.seq));
  h.set(H.msgId, message.headers?.get("Nats-Msg-Id") ?? "");
  h.set(H.consumer, durable);
  h.set(H.deliveries, String(message.info.redeliveryCount));
  h.set(H.error, describe(error).slice(0, 1024));
  await bus.jetstream.publish(bus.subject(deadLetterSubject(durable)), message.data, {
    msgID: `dead:${message.info.stream}:${message.seq}`,
    headers: h,
  });
  message.term();
}

/** Dead letters, oldest first; of one consumer when `durable` is given. */
export async function listDeadLetters(bus: EventBus, durable?: string): Promise<DeadLetter[]> {
  const stream = await ensureDeadLetterStream(bus);
  const { state } = await bus.manager.streams.info(stream);
  const found: DeadLetter[] = [];
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
    const stored = await bus.manager.streams.getMessage(stream, { seq }).catch(() => undefined);
    if (!stored) continue; // replayed (deleted)
    const get = (k: string) => stored.header.get(k);
    const letter: DeadLetter = {
      seq,
      consumer: get(H.consumer),
      subject: get(H.subject),
      originalStream: get(H.stream),
      originalSeq: Number(get(H.streamSeq)),
      originalMsgId: get(H.msgId),
      deliveries: Number(get(H.deliveries)),
      error: get(H.error),
      time: stored.time,
      data: stored.data,
    };
    if (!durable || letter.consumer === durable) found.push(letter);
  }
  return found;
}

/** How many dead letters wait, in all or for one consumer. */
export async function countDeadLetters(bus: EventBus, durable?: string): Promise<number> {
  if (durable) return (await listDeadLetters(bus, durable)).length;
  const { state } = await bus.manager.streams.info(await ensureDeadLetterStream(bus));
  return state.messages;
}

/**
 * Publishes a dead letter again on its original subject, whole, then removes it from the
 * dead-letter stream. Every consumer of that subject receives it again; consumers are idempotent
 * (by event id), so one that had processed it changes nothing. A fresh msgID keeps JetStream's
 * duplicate window from swallowing a replay made soon after the original.
 */
export async function replayDeadLetter(bus: EventBus, seq: number): Promise<DeadLetter> {
  const letter = (await listDeadLetters(bus)).find((l) => l.seq === seq);
  if (!letter) throw new Error(`no dead letter with sequence ${seq}`);
  const h = natsHeaders();
  h.set("Tally-Replayed-From", String(seq));
  await bus.jetstream.publish(bus.subject(letter.subject), letter.data, { msgID: `replay:${seq}:${letter.originalMsgId}`, headers: h });
  await bus.manager.streams.deleteMessage(deadLetterStreamName(bus), seq);
  return letter;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

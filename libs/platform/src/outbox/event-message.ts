import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { sourceOf, type Subject } from "@tally/contracts";
import type { OutboxMessage } from "./outbox";

/**
 * An event's envelope (`tally.common.v1.EventMeta`), built by one rule for every service:
 * `id` is also the JetStream `Nats-Msg-Id` (derive it from what the event announces, so a retried
 * transaction enqueues the same id), `source` follows from the subject, `time` is when it happened.
 */
export function eventMeta(subject: Subject, id: string, time: Date) {
  return { id, source: sourceOf(subject), subject, time: timestampFromDate(time) };
}

/** A proto event with its envelope, encoded for the outbox. */
export function eventMessage<S extends DescMessage>(schema: S, subject: Subject, id: string, time: Date, body: Omit<MessageInitShape<S>, "meta">): OutboxMessage {
  const message = create(schema, { ...body, meta: eventMeta(subject, id, time) } as unknown as MessageInitShape<S>);
  return { subject, msgId: id, payload: toBinary(schema, message) };
}

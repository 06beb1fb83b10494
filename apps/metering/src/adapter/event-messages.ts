import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { metering } from "@tally/contracts";
import type { OutboxMessage } from "@tally/platform";
import { LIMITS } from "../domain/limits";
import type { Meter } from "../domain/meter";
import type { ValidEvent } from "../domain/usage-event";
import { meterToProto } from "./proto-meter";
import { encodeUsageRecorded } from "../wire/usage-recorded-encoder";

/** NATS subjects metering publishes on (the bus adds a prefix in tests). */
export const SUBJECTS = {
  usageRecorded: "tally.metering.v1.usage.recorded",
  meterCreated: "tally.metering.v1.meter.created",
  meterArchived: "tally.metering.v1.meter.archived",
} as const;

const SOURCE = "tally.metering";

function meta(id: string, subject: string, time: Date) {
  return { id, source: SOURCE, subject, time: timestampFromDate(time) };
}

/**
 * UsageRecorded messages for the events one transaction accepted: at most 1,000 events and
 * ~900 kB per message, well under NATS's 1 MB maximum payload (encoded by
 * {@link encodeUsageRecorded}). Each message gets a fresh id
 * (`usage:<uuid>`) generated here, inside the transaction, and stored with its outbox row: a
 * relay re-publishing the row after a crash reuses it, so JetStream stores it once.
 */
export function usageRecordedMessages(events: readonly ValidEvent[], recordTime: Date): OutboxMessage[] {
  const messages: OutboxMessage[] = [];
  for (let start = 0; start < events.length; start += LIMITS.maxEventsPerMessage) {
    encodeWithinBudget(events.slice(start, start + LIMITS.maxEventsPerMessage), recordTime, messages);
  }
  return messages;
}

/** The events were recorded, and the message is produced, at `recordTime` (the transaction's time). */
function encodeWithinBudget(chunk: readonly ValidEvent[], recordTime: Date, out: OutboxMessage[]): void {
  const msgId = `usage:${randomUUID()}`;
  const payload = encodeUsageRecorded({ id: msgId, source: SOURCE, subject: SUBJECTS.usageRecorded, time: recordTime }, chunk, recordTime);
  if (payload.length <= LIMITS.maxMessageBytes || chunk.length === 1) {
    // A single event always fits: its properties and readings are bounded (LIMITS).
    out.push({ subject: SUBJECTS.usageRecorded, msgId, payload });
    return;
  }
  const half = Math.ceil(chunk.length / 2);
  encodeWithinBudget(chunk.slice(0, half), recordTime, out);
  encodeWithinBudget(chunk.slice(half), recordTime, out);
}

/** MeterCreated; the id is derived from the key, which is created once and never reused. */
export function meterCreatedMessage(meter: Meter, backfilledEvents: number, time: Date): OutboxMessage {
  const msgId = `meter.created:${meter.key}`;
  return {
    subject: SUBJECTS.meterCreated,
    msgId,
    payload: toBinary(
      metering.MeterCreatedSchema,
      create(metering.MeterCreatedSchema, {
        meta: meta(msgId, SUBJECTS.meterCreated, time),
        meter: meterToProto(meter),
        backfilledEventCount: BigInt(backfilledEvents),
      }),
    ),
  };
}

/** MeterArchived; a meter is archived once. */
export function meterArchivedMessage(meter: Meter, time: Date): OutboxMessage {
  const msgId = `meter.archived:${meter.key}`;
  return {
    subject: SUBJECTS.meterArchived,
    msgId,
    payload: toBinary(
      metering.MeterArchivedSchema,
      create(metering.MeterArchivedSchema, { meta: meta(msgId, SUBJECTS.meterArchived, time), meter: meterToProto(meter) }),
    ),
  };
}

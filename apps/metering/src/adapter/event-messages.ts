import { randomUUID } from "node:crypto";
import { metering, sourceOf, SUBJECTS } from "@tally/contracts";
import { eventMessage, type OutboxMessage } from "@tally/platform";
import { BOUNDS } from "../domain/bounds";
import type { Meter } from "../domain/meter";
import type { ValidEvent } from "../domain/usage-event";
import { meterToProto } from "./proto-meter";
import { encodeUsageRecorded, type EventTraces } from "../wire/usage-recorded-encoder";

/**
 * UsageRecorded messages for the events one transaction accepted: at most 1,000 events and
 * ~900 kB per message, well under NATS's 1 MB maximum payload (encoded by
 * {@link encodeUsageRecorded}). Each message gets a fresh id
 * (`usage:<uuid>`) generated here, inside the transaction, and stored with its outbox row: a
 * relay re-publishing the row after a crash reuses it, so JetStream stores it once.
 *
 * `traceparents[i]`, if given, is the trace of the call that recorded `events[i]` (undefined
 * for a call that sent none): each message lists its calls' traces once and each event points
 * to its own (UsageRecorded.traceparents, RecordedEvent.trace_index).
 */
export function usageRecordedMessages(events: readonly ValidEvent[], recordTime: Date, traceparents?: readonly (string | undefined)[]): OutboxMessage[] {
  const messages: OutboxMessage[] = [];
  const traced = traceparents?.some((t) => t !== undefined) ? traceparents : undefined;
  for (let start = 0; start < events.length; start += BOUNDS.maxEventsPerMessage) {
    const end = Math.min(events.length, start + BOUNDS.maxEventsPerMessage);
    encodeWithinBudget(events.slice(start, end), traced?.slice(start, end), recordTime, messages);
  }
  return messages;
}

/** The events were recorded, and the message is produced, at `recordTime` (the transaction's time). */
function encodeWithinBudget(chunk: readonly ValidEvent[], traceparents: readonly (string | undefined)[] | undefined, recordTime: Date, out: OutboxMessage[]): void {
  const msgId = `usage:${randomUUID()}`;
  const subject = SUBJECTS.metering.usageRecorded;
  // Hand-encoded for speed (see the encoder); the envelope follows the same rule as eventMessage's.
  const payload = encodeUsageRecorded({ id: msgId, source: sourceOf(subject), subject, time: recordTime }, chunk, recordTime, traceparents && eventTraces(traceparents));
  if (payload.length <= BOUNDS.maxMessageBytes || chunk.length === 1) {
    // A single event always fits: its properties and readings are bounded (BOUNDS).
    out.push({ subject, msgId, payload });
    return;
  }
  const half = Math.ceil(chunk.length / 2);
  encodeWithinBudget(chunk.slice(0, half), traceparents?.slice(0, half), recordTime, out);
  encodeWithinBudget(chunk.slice(half), traceparents?.slice(half), recordTime, out);
}

/** Each distinct traceparent once, and every event's 1-based position in that list (0: none). */
function eventTraces(traceparents: readonly (string | undefined)[]): EventTraces {
  const positions = new Map<string, number>();
  const indexes = traceparents.map((t) => {
    if (t === undefined) return 0;
    let position = positions.get(t);
    if (position === undefined) positions.set(t, (position = positions.size + 1));
    return position;
  });
  return { traceparents: [...positions.keys()], indexes };
}

/** MeterCreated; the id is derived from the key, which is created once and never reused. */
export function meterCreatedMessage(meter: Meter, backfilledEvents: number, time: Date): OutboxMessage {
  return eventMessage(metering.MeterCreatedSchema, SUBJECTS.metering.meterCreated, `meter.created:${meter.key}`, time, {
    meter: meterToProto(meter),
    backfilledEventCount: BigInt(backfilledEvents),
  });
}

/** MeterArchived; a meter is archived once. */
export function meterArchivedMessage(meter: Meter, time: Date): OutboxMessage {
  return eventMessage(metering.MeterArchivedSchema, SUBJECTS.metering.meterArchived, `meter.archived:${meter.key}`, time, { meter: meterToProto(meter) });
}

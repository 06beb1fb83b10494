import type { EventContent } from "./event-content";
import type { Reading } from "./reading";
import type { TimestampInput } from "./timestamp";

/** A usage event as received, before validation (a proto UsageEvent is one as it is). */
export interface UsageEventInput {
  id: string;
  customerId: string;
  eventType: string;
  /** Unset: defaults to the receive time. */
  time?: TimestampInput | undefined;
  properties: Readonly<Record<string, string>>;
  /**
   * The event's protobuf encoding as received (tally.metering.v1.UsageEvent), when it holds only
   * the fields above: RecordedEvent numbers those fields the same, so UsageRecorded copies these
   * bytes instead of encoding the strings again. Absent when the event came otherwise.
   */
  wire?: Uint8Array | undefined;
}

/** An event that passed validation against the meters active when it was checked; its content is its own. */
export interface ValidEvent extends EventContent {
  id: string;
  /** Effective event time: the caller's, or the receive time. Millisecond precision. */
  time: Date;
  /** One per active meter of its type whose filters it passes. */
  readings: Reading[];
  /**
   * UsageEventInput.wire, when it encodes this event as RecordedEvent's fields 1–5 would: kept
   * only if the time was omitted (the receive time is added) or has whole milliseconds.
   */
  wire?: Uint8Array | undefined;
}

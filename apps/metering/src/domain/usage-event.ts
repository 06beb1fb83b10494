import type { EventContent } from "./content-hash";
import type { Reading } from "./reading";
import type { TimestampInput } from "./timestamp";

/** A usage event as received, before validation. */
export interface UsageEventInput {
  id: string;
  customerId: string;
  eventType: string;
  /** Unset: defaults to the receive time. */
  time: TimestampInput | undefined;
  properties: Readonly<Record<string, string>>;
}

/** An event that passed validation against the meters active when it was checked. */
export interface ValidEvent {
  id: string;
  customerId: string;
  eventType: string;
  /** Effective event time: the caller's, or the receive time. Millisecond precision. */
  time: Date;
  timeGiven: boolean;
  properties: Readonly<Record<string, string>>;
  content: EventContent;
  /** One per active meter of its type whose filters it passes. */
  readings: Reading[];
}

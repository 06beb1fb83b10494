import { hash } from "node:crypto";
import { compareCodePoints } from "./text";

/**
 * What makes two events with the same id "the same event": customer, type and properties,
 * hashed; plus the time, compared separately because a retry may omit it (see {@link sameContent}).
 */
export interface EventContent {
  /** sha256 of the canonical encoding of customer, event type and sorted properties (hex). */
  hash: string;
  time: Date;
  /** Whether the caller set the time (false: it was defaulted to the receive time). */
  timeGiven: boolean;
}

/**
 * Canonical encoding: the JSON array [customer, type, key1, value1, key2, value2, …] with the
 * properties sorted by key. JSON escaping makes it unambiguous (no separator can be forged).
 * Runs for every event: one array, one native stringify, one native hash.
 */
export function contentHash(customerId: string, eventType: string, properties: Readonly<Record<string, string>>): string {
  const keys = Object.keys(properties);
  if (keys.length > 1) keys.sort(compareCodePoints);
  const parts: string[] = [customerId, eventType];
  for (const key of keys) parts.push(key, properties[key]!);
  return hash("sha256", JSON.stringify(parts), "hex");
}

/**
 * Same content: equal hash and, when both sides set the time, equal time. A retry that omits
 * `time` matches the stored event's defaulted time (it cannot know it), as the proto documents.
 */
export function sameContent(a: EventContent, b: EventContent): boolean {
  if (a.hash !== b.hash) return false;
  return !(a.timeGiven && b.timeGiven) || a.time.getTime() === b.time.getTime();
}

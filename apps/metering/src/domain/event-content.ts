/**
 * What makes two events with the same id "the same event": customer, type and properties; plus
 * the time, compared only when both sides set it because a retry may omit it (see
 * {@link sameContent}). A ValidEvent is one; a duplicate is judged against the stored row.
 */
export interface EventContent {
  customerId: string;
  eventType: string;
  properties: Readonly<Record<string, string>>;
  time: Date;
  /** Whether the caller set the time (false: it was defaulted to the receive time). */
  timeGiven: boolean;
}

/**
 * Same content: equal customer, type and properties (in any order) and, when both sides set
 * the time, equal time. A retry that omits `time` matches the stored event's defaulted time
 * (it cannot know it), as the proto documents. Only runs for ids already taken, so it compares
 * the fields themselves instead of keeping a hash of every event.
 */
export function sameContent(a: EventContent, b: EventContent): boolean {
  if (a.customerId !== b.customerId || a.eventType !== b.eventType) return false;
  if (!sameProperties(a.properties, b.properties)) return false;
  return !(a.timeGiven && b.timeGiven) || a.time.getTime() === b.time.getTime();
}

function sameProperties(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) if (!Object.hasOwn(b, key) || a[key] !== b[key]) return false;
  return true;
}

import { sameContent, type EventContent } from "./event-content";
import type { CheckedEvent } from "./event-validation";
import type { ValidEvent } from "./usage-event";
import { quote, type Violation } from "./violation";

/** A set of event ids, as far as outcome resolution needs one (a Set, or a Map keyed by id). */
export interface IdSet {
  has(id: string): boolean;
}

/** What happened to one submitted event. */
export type EventOutcome =
  | { status: "accepted"; event: ValidEvent }
  | { status: "duplicate" }
  | { status: "conflict"; message: string }
  | { status: "rejected"; violations: readonly Violation[] };

/** What one transaction tries to insert: the first valid occurrence of each id. */
export interface InsertPlan {
  /** First valid occurrence by id; later occurrences are judged against whatever wins the id. */
  first: ReadonlyMap<string, ValidEvent>;
  /**
   * The same events sorted by id. Every transaction inserts in the same order, so two
   * transactions racing for the same ids queue up instead of deadlocking.
   */
  candidates: ValidEvent[];
}

export function planInsert(checked: readonly CheckedEvent[]): InsertPlan {
  const first = new Map<string, ValidEvent>();
  for (const c of checked) {
    if (c.kind === "valid" && !first.has(c.event.id)) first.set(c.event.id, c.event);
  }
  const candidates = [...first.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { first, candidates };
}

/** Ids whose stored content decides an outcome: everything with a usable id that was not inserted now. */
export function idsToLookUp(checked: readonly CheckedEvent[], inserted: IdSet): string[] {
  const ids = new Set<string>();
  for (const c of checked) {
    const id = c.kind === "valid" ? c.event.id : c.content ? c.id : undefined;
    if (id !== undefined && !inserted.has(id)) ids.add(id);
  }
  return [...ids];
}

/**
 * Decides each event's outcome once the insert is done. `inserted` holds the ids this
 * transaction inserted (always first occurrences, see {@link planInsert}), `stored` the content
 * of the others as committed by whoever won them. Exactly one occurrence of an inserted id is
 * ACCEPTED; every other occurrence is DUPLICATE or CONFLICT against the winner. A rejected event
 * whose id and content match a stored event is a DUPLICATE: a retry of an event accepted earlier
 * must not turn into an error because, say, its time has since left the backfill window.
 */
export function resolveOutcomes(
  checked: readonly CheckedEvent[],
  plan: InsertPlan,
  inserted: IdSet,
  stored: ReadonlyMap<string, EventContent>,
): EventOutcome[] {
  const winner = (id: string): EventContent | undefined => stored.get(id) ?? (inserted.has(id) ? plan.first.get(id) : undefined);
  return checked.map((c): EventOutcome => {
    if (c.kind === "rejected") {
      const held = c.id !== undefined ? winner(c.id) : undefined;
      return held && c.content && sameContent(held, c.content) ? { status: "duplicate" } : { status: "rejected", violations: c.violations };
    }
    const { event } = c;
    if (plan.first.get(event.id) === event && inserted.has(event.id)) return { status: "accepted", event };
    const held = winner(event.id);
    if (!held) throw new Error(`event ${quote(event.id)} was neither inserted nor found`);
    return sameContent(held, event) ? { status: "duplicate" } : { status: "conflict", message: conflictMessage(event.id) };
  });
}

export function conflictMessage(id: string): string {
  return `event ${quote(id)} was already recorded with different content (customer_id, event_type, properties or time)`;
}

import type { EventContent } from "./event-content";
import type { CheckedEvent } from "./event-validation";
import { idsToLookUp, planInsert, resolveOutcomes } from "./record-outcome";
import type { ValidEvent } from "./usage-event";

const T = new Date("2026-03-15T12:00:00Z");

// Events differ in content by customer ("c1", "other"…) unless a test says otherwise.
function valid(id: string, customerId = "c1", timeGiven = true, time = T): CheckedEvent {
  const event: ValidEvent = { id, customerId, eventType: "t", time, timeGiven, properties: {}, readings: [] };
  return { kind: "valid", event };
}

function rejected(id: string | undefined, customerId = "c1"): CheckedEvent {
  return { kind: "rejected", id, content: stored(customerId), violations: [{ field: "event.time", code: "too_old", message: "old" }] };
}

function stored(customerId: string, timeGiven = true, time = T): EventContent {
  return { customerId, eventType: "t", properties: {}, time, timeGiven };
}

describe("planInsert", () => {
  it("takes the first valid occurrence of each id, sorted by id", () => {
    const checked = [valid("b", "first"), rejected("a"), valid("a", "x"), valid("b", "second")];
    expect(planInsert(checked).candidates.map((e) => [e.id, e.customerId])).toEqual([
      ["a", "x"],
      ["b", "first"],
    ]);
  });
});

describe("resolveOutcomes", () => {
  it("accepts what was inserted and judges repeats against it", () => {
    const checked = [valid("a"), valid("a"), valid("a", "other")];
    const outcomes = resolveOutcomes(checked, planInsert(checked), new Set(["a"]), new Map());
    expect(outcomes.map((o) => o.status)).toEqual(["accepted", "duplicate", "conflict"]);
  });

  it("judges ids taken by earlier transactions against the stored content", () => {
    const checked = [valid("a"), valid("b", "new"), valid("c")];
    const outcomes = resolveOutcomes(checked, planInsert(checked), new Set(["c"]), new Map([["a", stored("c1")], ["b", stored("old")]]));
    expect(outcomes.map((o) => o.status)).toEqual(["duplicate", "conflict", "accepted"]);
  });

  it("compares the time only when both sides set it", () => {
    const later = new Date(T.getTime() + 1);
    const checked = [valid("a", "c1", false, later), valid("b", "c1", true, later), valid("c", "c1", true, later)];
    const outcomes = resolveOutcomes(checked, planInsert(checked), new Set(), new Map([["a", stored("c1")], ["b", stored("c1", false)], ["c", stored("c1")]]));
    expect(outcomes.map((o) => o.status)).toEqual(["duplicate", "duplicate", "conflict"]);
  });

  it("turns a rejected retry of a stored event into a duplicate, and keeps other rejections", () => {
    const checked = [rejected("a"), rejected("b", "different"), rejected("c"), rejected(undefined)];
    const outcomes = resolveOutcomes(checked, planInsert(checked), new Set(), new Map([["a", stored("c1")], ["b", stored("c1")]]));
    expect(outcomes.map((o) => o.status)).toEqual(["duplicate", "rejected", "rejected", "rejected"]);
  });

  it("does not let a rejected occurrence claim an id", () => {
    const checked = [rejected("a", "c1"), valid("a", "c2")];
    const outcomes = resolveOutcomes(checked, planInsert(checked), new Set(["a"]), new Map());
    expect(outcomes.map((o) => o.status)).toEqual(["rejected", "accepted"]);
  });

  it("refuses to guess when an id was neither inserted nor found", () => {
    expect(() => resolveOutcomes([valid("a")], planInsert([valid("a")]), new Set(), new Map())).toThrow('event "a" was neither inserted nor found');
  });
});

describe("idsToLookUp", () => {
  it("looks up everything with a usable id that this transaction did not insert", () => {
    const checked = [valid("a"), valid("b"), rejected("c"), rejected(undefined), { ...rejected("d"), content: undefined } as CheckedEvent];
    expect(idsToLookUp(checked, new Set(["a"]))).toEqual(["b", "c"]);
  });
});

import { ManualClock } from "@tally/platform/testing";
import { Decimal } from "@tally/pricing";
import type { CheckContext } from "../adapter/check-store";
import { PositionCache, PositionVersions, type PositionKey } from "./position-cache";

const OPTIONS = { maxAgeMs: 100, refreshAfterMs: 50, refreshBatch: 500 };

function context(units: number): CheckContext {
  const d = new Decimal(units);
  const zero = new Decimal(0);
  return { customer: undefined, limits: [], units: d, meterSpend: zero, totalSpend: zero, holds: { units: zero, meterCost: zero, totalCost: zero }, balance: zero, previous: undefined };
}

/** A fake Postgres: each read returns the current units of each key and is recorded. */
function setup() {
  const clock = new ManualClock("2026-01-10T00:00:00Z");
  const versions = new PositionVersions();
  const units = new Map<string, number>();
  const reads: PositionKey[][] = [];
  let gate: Promise<void> | undefined;
  const cache = new PositionCache(
    clock,
    versions,
    async (keys) => {
      reads.push(keys);
      const answer = keys.map((k) => context(units.get(k.customerId) ?? 0));
      await gate;
      return answer;
    },
    OPTIONS,
  );
  const hold = () => {
    let release: () => void = () => undefined;
    gate = new Promise<void>((r) => (release = r));
    return () => {
      gate = undefined;
      release();
    };
  };
  return { clock, versions, units, reads, cache, hold };
}

const unitsOf = async (p: Promise<CheckContext>) => (await p).units.toNumber();

describe("PositionCache", () => {
  it("serves a position younger than maxAgeMs from memory, and reads again once it is that old", async () => {
    const { clock, units, reads, cache } = setup();
    units.set("a", 1);
    expect(await unitsOf(cache.get("a", "m"))).toBe(1);
    units.set("a", 2); // changed by another instance: not seen while fresh
    clock.advance(99);
    expect(await unitsOf(cache.get("a", "m"))).toBe(1);
    expect(reads).toHaveLength(1);
    clock.advance(1); // exactly maxAgeMs old: never served
    expect(await unitsOf(cache.get("a", "m"))).toBe(2);
    expect(reads).toHaveLength(2);
  });

  it("never serves a position read before a local write of that customer (or of everyone)", async () => {
    const { versions, units, cache } = setup();
    units.set("a", 1);
    units.set("b", 1);
    await cache.get("a", "m");
    await cache.get("b", "m");
    units.set("a", 2);
    units.set("b", 2);
    versions.changed("a");
    expect(await unitsOf(cache.get("a", "m"))).toBe(2);
    expect(await unitsOf(cache.get("b", "m"))).toBe(1);
    versions.changed();
    expect(await unitsOf(cache.get("b", "m"))).toBe(2);
  });

  it("discards a read that was in flight when a local write happened", async () => {
    const { versions, units, reads, cache, hold } = setup();
    units.set("a", 1);
    const release = hold();
    const early = cache.get("a", "m");
    units.set("a", 2);
    versions.changed("a");
    // A caller after the write does not share the earlier read.
    const late = cache.get("a", "m");
    release();
    expect(await unitsOf(early)).toBe(1);
    expect(await unitsOf(late)).toBe(2);
    expect(reads).toHaveLength(2);
    expect(await unitsOf(cache.get("a", "m"))).toBe(2);
  });

  it("shares one read among concurrent misses of a key", async () => {
    const { units, reads, cache, hold } = setup();
    units.set("a", 3);
    const release = hold();
    const all = [cache.get("a", "m"), cache.get("a", "m"), cache.get("a", "m")];
    release();
    expect(await Promise.all(all.map(unitsOf))).toEqual([3, 3, 3]);
    expect(reads).toHaveLength(1);
  });

  it("a position read under a clock set back is not served", async () => {
    const { clock, units, reads, cache } = setup();
    units.set("a", 1);
    await cache.get("a", "m");
    clock.advance(-1);
    await cache.get("a", "m");
    expect(reads).toHaveLength(2);
  });

  it("refresh re-reads positions served since their read once refreshAfterMs old, in one read, and drops unused ones", async () => {
    const { clock, units, reads, cache } = setup();
    for (const c of ["a", "b", "c"]) await cache.get(c, "m"); // a miss counts as a use
    expect(reads).toHaveLength(3);
    clock.advance(49);
    await cache.refresh();
    expect(reads).toHaveLength(3); // nothing is due yet
    clock.advance(1);
    units.set("a", 5);
    await cache.refresh();
    expect(reads).toHaveLength(4);
    expect(reads[3]!.map((k) => k.customerId).sort()).toEqual(["a", "b", "c"]);
    // Refreshed: served from memory past the first read's maxAgeMs.
    clock.advance(80);
    expect(await unitsOf(cache.get("a", "m"))).toBe(5);
    expect(reads).toHaveLength(4);
    // Only what was served since its read is read again.
    await cache.refresh();
    expect(reads.map((r) => r.map((k) => k.customerId))).toEqual([["a"], ["b"], ["c"], ["a", "b", "c"], ["a"]]);
    // Nobody asked for b and c since: once too old to serve they are dropped, not read.
    clock.advance(20);
    await cache.refresh();
    expect(reads).toHaveLength(5);
    expect(cache.size).toBe(1);
    // The refreshed a was not served since its read: no more reads; it too goes once too old.
    clock.advance(100);
    await cache.refresh();
    expect(reads).toHaveLength(5);
    expect(cache.size).toBe(0);
  });
});

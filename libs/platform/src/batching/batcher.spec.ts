import { Batcher, BatcherOverloadedError } from "./batcher";

/**
 * Flushes the test releases by hand, and fake timers for the linger: nothing here depends on how
 * fast the machine is (the earlier version slept and failed about 1 run in 15 on busy cores).
 */
function controlledFlush(options: { fail?: (items: number[]) => boolean } = {}) {
  const started: { items: number[]; release(): void }[] = [];
  let running = 0;
  let maxRunning = 0;
  const flush = (items: number[]) =>
    new Promise<number[]>((resolve, reject) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      started.push({
        items,
        release() {
          running--;
          if (options.fail?.(items)) reject(new Error(`flush of ${items.join(",")} failed`));
          else resolve(items.map((i) => i * 10));
        },
      });
    });
  return {
    flush,
    flushes: () => started.map((s) => s.items),
    /** Releases every flush started and not yet released, until none is left running. */
    async releaseAll() {
      for (let i = 0; i < 100 && running > 0; i++) {
        for (const s of started.splice(0)) {
          s.release();
          done.push(s.items);
        }
        await tick();
      }
    },
    maxRunning: () => maxRunning,
  };
}
const done: number[][] = [];
/** Lets the batcher's setImmediate run, and the promises it settles. */
const tick = () => jest.advanceTimersByTimeAsync(0);

describe("Batcher", () => {
  beforeEach(() => {
    jest.useFakeTimers();
    done.length = 0;
  });
  afterEach(() => jest.useRealTimers());

  it("shares one flush between calls that arrive together and gives each its own results", async () => {
    const f = controlledFlush();
    const batcher = new Batcher(f.flush, { maxItems: 100, maxInFlight: 1 });
    const results = Promise.all([batcher.submit([1]), batcher.submit([2, 3]), batcher.submit([4])]);
    await tick();
    expect(f.flushes()).toEqual([[1, 2, 3, 4]]);
    await f.releaseAll();
    expect(await results).toEqual([[10], [20, 30], [40]]);
  });

  it("collects what arrives during a flush into the next one", async () => {
    const f = controlledFlush();
    const batcher = new Batcher(f.flush, { maxItems: 100, maxInFlight: 1 });
    const all = [batcher.submit([1])];
    await tick();
    all.push(batcher.submit([2]), batcher.submit([3]));
    await tick();
    expect(f.flushes()).toEqual([[1]]);
    await f.releaseAll();
    await Promise.all(all);
    expect(done).toEqual([[1], [2, 3]]);
  });

  it("caps a flush at maxItems without splitting a submission", async () => {
    const f = controlledFlush();
    const batcher = new Batcher(f.flush, { maxItems: 3, maxInFlight: 1 });
    const all = Promise.all([batcher.submit([1, 2]), batcher.submit([3, 4]), batcher.submit([5, 6, 7, 8]), batcher.submit([9])]);
    await tick();
    await f.releaseAll();
    await all;
    expect(done).toEqual([[1, 2], [3, 4], [5, 6, 7, 8], [9]]);
  });

  it("overlaps a running flush only when enough items wait, or after the linger time", async () => {
    const f = controlledFlush();
    const batcher = new Batcher(f.flush, { maxItems: 100, maxInFlight: 2, overlapMinItems: 3, lingerMs: 10 });
    const all = [batcher.submit([1])];
    await tick();
    all.push(batcher.submit([2])); // one item while a flush runs: waits up to 10 ms
    await jest.advanceTimersByTimeAsync(9);
    expect(f.flushes()).toEqual([[1]]);
    await jest.advanceTimersByTimeAsync(1);
    expect(f.flushes()).toEqual([[1], [2]]);
    all.push(batcher.submit([3]), batcher.submit([4, 5])); // three items, but both slots are busy
    await tick();
    expect(f.flushes()).toEqual([[1], [2]]);
    await f.releaseAll();
    await Promise.all(all);
    expect(done).toEqual([[1], [2], [3, 4, 5]]);
  });

  it("runs at most maxInFlight flushes at once", async () => {
    const f = controlledFlush();
    const batcher = new Batcher(f.flush, { maxItems: 1, maxInFlight: 2 });
    const all = Promise.all([1, 2, 3, 4, 5].map((i) => batcher.submit([i])));
    await tick();
    await jest.advanceTimersByTimeAsync(2); // the second slot opens after the default 2 ms linger
    expect(f.flushes()).toEqual([[1], [2]]);
    await f.releaseAll();
    await all;
    expect(f.maxRunning()).toBe(2);
  });

  it("fails only the callers whose items failed: a shared flush is retried per submission", async () => {
    const f = controlledFlush({ fail: (items) => items.includes(2) });
    const batcher = new Batcher(f.flush, { maxItems: 100, maxInFlight: 1 });
    const settled = Promise.allSettled([batcher.submit([1]), batcher.submit([2]), batcher.submit([3])]);
    await tick();
    await f.releaseAll();
    expect((await settled).map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(done).toEqual([[1, 2, 3], [1], [2], [3]]);
  });

  it("resolves an empty submission at once and drains", async () => {
    const f = controlledFlush();
    const batcher = new Batcher(f.flush, { maxItems: 100, maxInFlight: 1 });
    expect(await batcher.submit([])).toEqual([]);
    const pending = batcher.submit([1]);
    let drained = false;
    void batcher.drain().then(() => (drained = true));
    await tick();
    expect(drained).toBe(false);
    await f.releaseAll();
    expect(drained).toBe(true);
    await expect(pending).resolves.toEqual([10]);
  });
});

describe("Batcher split on failure", () => {
  beforeEach(() => {
    jest.useFakeTimers();
    done.length = 0;
  });
  afterEach(() => jest.useRealTimers());

  it("splits a failed shared flush in halves until the bad submission fails alone; the others get their results", async () => {
    const f = controlledFlush({ fail: (items) => items.includes(4) });
    const batcher = new Batcher(f.flush, { maxItems: 100, maxInFlight: 1, splitOnFailure: () => true });
    const settled = Promise.allSettled([1, 2, 3, 4, 5].map((i) => batcher.submitOne(i)));
    await tick();
    await f.releaseAll();
    const outcomes = (await settled).map((s) => (s.status === "fulfilled" ? s.value : (s.reason as Error).message));
    expect(outcomes).toEqual([10, 20, 30, "flush of 4 failed", 50]);
    // The whole flush once, then halves, and halves of the failing half, until 4 is alone.
    expect(done).toEqual([[1, 2, 3, 4, 5], [1, 2, 3], [4, 5], [4], [5]]);
  });

  it("fails the whole flush at once when the failure concerns everyone", async () => {
    const f = controlledFlush({ fail: () => true });
    const batcher = new Batcher(f.flush, { maxItems: 100, maxInFlight: 1, splitOnFailure: (err) => !String(err).includes("flush of") });
    const settled = Promise.allSettled([batcher.submit([1]), batcher.submit([2, 3])]);
    await tick();
    await f.releaseAll();
    expect((await settled).map((s) => s.status)).toEqual(["rejected", "rejected"]);
    expect(done).toEqual([[1, 2, 3]]);
  });
});

describe("Batcher load shedding (maxWaitMs)", () => {
  beforeEach(() => {
    jest.useFakeTimers();
    done.length = 0;
  });
  afterEach(() => jest.useRealTimers());

  it("rejects a submission that waited maxWaitMs with a typed overload error, even while every flush stays stuck", async () => {
    const f = controlledFlush();
    const batcher = new Batcher(f.flush, { maxItems: 100, maxInFlight: 1, maxWaitMs: 20 });
    const running = batcher.submit([1]);
    await tick(); // [1] is flushing and is never released during the wait
    const queued = batcher.submit([2]).catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(19);
    expect(batcher.pending).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    const refused = await queued;
    expect(refused).toBeInstanceOf(BatcherOverloadedError);
    expect(refused).toMatchObject({ reason: "overloaded", waitedMs: 20, maxWaitMs: 20 });
    expect(batcher.pending).toBe(0);
    await f.releaseAll();
    expect(await running).toEqual([10]);
    expect(done).toEqual([[1]]); // [2] was never run
  });

  it("refuses a new submission at once while the queue has stood maxWaitMs, and serves again once it drains", async () => {
    const f = controlledFlush();
    const batcher = new Batcher(f.flush, { maxItems: 100, maxInFlight: 1, maxWaitMs: 20, overloaded: (waited) => new Error(`shed after ${waited} ms`) });
    // Armed before any of the batcher's shed timers, so it runs first at t = 20, when the oldest queued submission has waited exactly 20 ms.
    let atOnce: Promise<unknown> = Promise.resolve("not submitted");
    setTimeout(() => (atOnce = batcher.submit([3]).catch((e: Error) => e.message)), 20);
    void batcher.submit([1]);
    await tick();
    const queued = batcher.submit([2]).catch((e: Error) => e.message);
    await jest.advanceTimersByTimeAsync(20);
    expect(await atOnce).toBe("shed after 20 ms");
    expect(await queued).toBe("shed after 20 ms");
    await f.releaseAll();
    const later = batcher.submit([4]);
    await tick();
    await f.releaseAll();
    expect(await later).toEqual([40]);
    expect(done).toEqual([[1], [4]]);
  });

  it("runs what waited less than maxWaitMs when a slot frees, and drains after shedding", async () => {
    const f = controlledFlush();
    const batcher = new Batcher(f.flush, { maxItems: 100, maxInFlight: 1, maxWaitMs: 20 });
    void batcher.submit([1]);
    await tick();
    const shed = batcher.submit([2]).catch(() => "shed");
    await jest.advanceTimersByTimeAsync(15);
    const kept = batcher.submit([3]);
    await jest.advanceTimersByTimeAsync(5); // [2] has waited 20 ms, [3] 5 ms
    expect(await shed).toBe("shed");
    await f.releaseAll();
    expect(await kept).toEqual([30]);
    await batcher.drain();
    expect(done).toEqual([[1], [3]]);
  });
});

describe("Batcher keys (keyOf)", () => {
  beforeEach(() => {
    jest.useFakeTimers();
    done.length = 0;
  });
  afterEach(() => jest.useRealTimers());

  /** Items are numbers; the key is the tens digit (11 and 12 share key "1"). */
  const keyOf = (i: number) => String(Math.floor(i / 10));

  it("never runs one key in two flushes at once: a busy key's submissions wait, others overlap at once, each key in order", async () => {
    const f = controlledFlush();
    const batcher = new Batcher(f.flush, { maxItems: 100, maxInFlight: 2, overlapMinItems: 1, keyOf });
    const all = [batcher.submitOne(11), batcher.submitOne(21)];
    await tick();
    expect(f.flushes()).toEqual([[11, 21]]);
    // 12 and 23 share keys with the running flush, 31 does not; 13 comes after 12, in order.
    all.push(batcher.submitOne(12), batcher.submitOne(31), batcher.submitOne(23), batcher.submitOne(13));
    await tick();
    expect(f.flushes()).toEqual([[11, 21], [31]]);
    expect(batcher.pending).toBe(3);
    await f.releaseAll();
    expect(await Promise.all(all)).toEqual([110, 210, 120, 310, 230, 130]);
    expect(done).toEqual([[11, 21], [31], [12, 23, 13]]);
  });

  it("a submission spanning keys waits until every one of its keys is free, and blocks the later ones of those keys", async () => {
    const f = controlledFlush();
    const batcher = new Batcher(f.flush, { maxItems: 100, maxInFlight: 3, overlapMinItems: 1, keyOf });
    const all = [batcher.submit([11])];
    await tick();
    all.push(batcher.submit([21, 12]), batcher.submit([22]), batcher.submit([31]));
    await tick();
    // [21, 12] needs key 1 (busy), so key 2 is blocked behind it too: only [31] may overlap.
    expect(f.flushes()).toEqual([[11], [31]]);
    await f.releaseAll();
    await jest.advanceTimersByTimeAsync(1); // the freed keys' flush starts on a later turn
    await f.releaseAll();
    await Promise.all(all);
    expect(done).toEqual([[11], [31], [21, 12, 22]]);
  });

  it("sheds a submission that waited maxWaitMs for its busy key, and frees the key after a failed flush", async () => {
    const f = controlledFlush({ fail: (items) => items.includes(11) });
    const batcher = new Batcher(f.flush, { maxItems: 100, maxInFlight: 2, overlapMinItems: 1, maxWaitMs: 20, keyOf });
    const failed = batcher.submitOne(11).catch((e: Error) => e.message);
    await tick();
    const shed = batcher.submitOne(12).catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(20);
    expect(await shed).toBeInstanceOf(BatcherOverloadedError);
    await f.releaseAll();
    expect(await failed).toBe("flush of 11 failed");
    const after = batcher.submitOne(13);
    await tick();
    await f.releaseAll();
    expect(await after).toBe(130);
    expect(done).toEqual([[11], [13]]);
  });
});

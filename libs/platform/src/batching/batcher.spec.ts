import { GroupCommit } from "./batcher";

/** A flush that records what it was given and answers each item with `item * 10`. */
function recorder(options: { fail?: (items: number[]) => boolean; delayMs?: number } = {}) {
  const flushes: number[][] = [];
  let running = 0;
  let maxRunning = 0;
  const flush = async (items: number[]) => {
    flushes.push(items);
    running++;
    maxRunning = Math.max(maxRunning, running);
    await new Promise((r) => setTimeout(r, options.delayMs ?? 5));
    running--;
    if (options.fail?.(items)) throw new Error(`flush of ${items.join(",")} failed`);
    return items.map((i) => i * 10);
  };
  return { flush, flushes, maxRunning: () => maxRunning };
}

describe("GroupCommit", () => {
  it("shares one flush between calls that arrive together and gives each its own results", async () => {
    const r = recorder();
    const commit = new GroupCommit(r.flush, { maxItems: 100, maxInFlight: 1 });
    const results = await Promise.all([commit.submit([1]), commit.submit([2, 3]), commit.submit([4])]);
    expect(results).toEqual([[10], [20, 30], [40]]);
    expect(r.flushes).toEqual([[1, 2, 3, 4]]);
  });

  it("collects what arrives during a flush into the next one", async () => {
    const r = recorder({ delayMs: 20 });
    const commit = new GroupCommit(r.flush, { maxItems: 100, maxInFlight: 1 });
    const first = commit.submit([1]);
    await new Promise((res) => setTimeout(res, 5));
    const later = [commit.submit([2]), commit.submit([3])];
    await Promise.all([first, ...later]);
    expect(r.flushes).toEqual([[1], [2, 3]]);
  });

  it("caps a flush at maxItems without splitting a submission", async () => {
    const r = recorder();
    const commit = new GroupCommit(r.flush, { maxItems: 3, maxInFlight: 1 });
    await Promise.all([commit.submit([1, 2]), commit.submit([3, 4]), commit.submit([5, 6, 7, 8]), commit.submit([9])]);
    expect(r.flushes).toEqual([[1, 2], [3, 4], [5, 6, 7, 8], [9]]);
  });

  it("overlaps a running flush only when enough items wait, or after the linger time", async () => {
    const r = recorder({ delayMs: 30 });
    const commit = new GroupCommit(r.flush, { maxItems: 100, maxInFlight: 2, overlapMinItems: 3, lingerMs: 10 });
    const first = commit.submit([1]);
    await new Promise((res) => setTimeout(res, 2));
    const lingering = commit.submit([2]); // one item while a flush runs: waits up to 10 ms
    await new Promise((res) => setTimeout(res, 4));
    expect(r.flushes).toEqual([[1]]);
    await new Promise((res) => setTimeout(res, 10));
    expect(r.flushes).toEqual([[1], [2]]);
    const crowd = [commit.submit([3]), commit.submit([4, 5])]; // three items: but both slots are busy
    await Promise.all([first, lingering, ...crowd]);
    expect(r.flushes).toEqual([[1], [2], [3, 4, 5]]);
  });

  it("runs at most maxInFlight flushes at once", async () => {
    const r = recorder({ delayMs: 10 });
    const commit = new GroupCommit(r.flush, { maxItems: 1, maxInFlight: 2 });
    await Promise.all([1, 2, 3, 4, 5].map((i) => commit.submit([i])));
    expect(r.maxRunning()).toBe(2);
  });

  it("fails only the callers whose items failed: a shared flush is retried per submission", async () => {
    const r = recorder({ fail: (items) => items.includes(2) });
    const commit = new GroupCommit(r.flush, { maxItems: 100, maxInFlight: 1 });
    const settled = await Promise.allSettled([commit.submit([1]), commit.submit([2]), commit.submit([3])]);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(r.flushes).toEqual([[1, 2, 3], [1], [2], [3]]);
  });

  it("resolves an empty submission at once and drains", async () => {
    const r = recorder();
    const commit = new GroupCommit(r.flush, { maxItems: 100, maxInFlight: 1 });
    expect(await commit.submit([])).toEqual([]);
    const pending = commit.submit([1]);
    await commit.drain();
    await expect(pending).resolves.toEqual([10]);
    expect(r.flushes).toEqual([[1]]);
  });
});

import { Coalescer } from "./coalescer";

describe("Coalescer", () => {
  it("sends an idle call alone and batches what queues while batches are in flight", async () => {
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const c = new Coalescer<number, number>(async (reqs) => {
      batches.push(reqs);
      if (batches.length === 1) await gate;
      return reqs.map((r) => r * 10);
    }, { maxInFlight: 1 });
    const first = c.submit(1);
    const rest = [2, 3, 4].map((n) => c.submit(n));
    expect(c.waiting).toBe(3);
    release();
    expect(await Promise.all([first, ...rest])).toEqual([10, 20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it("fails every call of a batch whose failure concerns everyone", async () => {
    const c = new Coalescer<number, number>(async () => {
      throw new Error("database unreachable");
    });
    await expect(c.submit(1)).rejects.toThrow("database unreachable");
  });

  it("splits a shared batch that failed for one item's sake: only that caller fails, the others get their results", async () => {
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const c = new Coalescer<number, number>(
      async (reqs) => {
        batches.push(reqs);
        if (batches.length === 1) await gate;
        if (reqs.includes(13)) throw new Error("item 13 is bad");
        return reqs.map((r) => r + 1);
      },
      { maxInFlight: 1, concernsSome: (err) => err instanceof Error && err.message.includes("bad") },
    );
    const first = c.submit(0);
    const calls = [10, 11, 12, 13, 14].map((n) => c.submit(n).then((v) => ({ v }), (e: Error) => ({ e: e.message })));
    release();
    await first;
    expect(await Promise.all(calls)).toEqual([{ v: 11 }, { v: 12 }, { v: 13 }, { e: "item 13 is bad" }, { v: 15 }]);
    // The whole batch once, then halves (and halves of the failing half) until 13 is alone.
    expect(batches.slice(1)).toEqual([[10, 11, 12, 13, 14], [10, 11, 12], [13, 14], [13], [14]]);
  });
});

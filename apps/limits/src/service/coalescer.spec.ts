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

describe("Coalescer load shedding", () => {
  it("refuses calls that waited past maxWaitMs, and new calls while the queue stands that long; idle again, it serves", async () => {
    let release: () => void = () => undefined;
    let gate = new Promise<void>((r) => (release = r));
    const c = new Coalescer<number, number>(
      async (reqs) => {
        await gate;
        return reqs;
      },
      { maxInFlight: 1, maxWaitMs: 20, overloaded: () => new Error("overloaded") },
    );
    const running = c.submit(1); // in flight, held by the gate
    const queued = c.submit(2).catch((e: Error) => e.message);
    const waited = performance.now();
    while (performance.now() - waited < 25) await new Promise((r) => setTimeout(r, 5));
    // The queue has stood for 20 ms: a new call is refused at once, without waiting for a slot.
    await expect(c.submit(3)).rejects.toThrow("overloaded");
    release();
    gate = Promise.resolve();
    expect(await running).toBe(1);
    // The queued call waited too long for its slot: refused rather than run late.
    expect(await queued).toBe("overloaded");
    expect(await c.submit(4)).toBe(4);
  });

  it("refuses a stale call even while every batch slot stays stuck", async () => {
    const c = new Coalescer<number, number>(() => new Promise<number[]>(() => undefined), {
      maxInFlight: 1,
      maxWaitMs: 20,
      overloaded: () => new Error("overloaded"),
    });
    void c.submit(1); // never finishes
    const started = performance.now();
    await expect(c.submit(2)).rejects.toThrow("overloaded");
    expect(performance.now() - started).toBeGreaterThanOrEqual(19);
  });
});

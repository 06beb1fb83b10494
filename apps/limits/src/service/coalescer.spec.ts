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
    }, 1);
    const first = c.submit(1);
    const rest = [2, 3, 4].map((n) => c.submit(n));
    release();
    expect(await Promise.all([first, ...rest])).toEqual([10, 20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it("fails every call of a failed batch", async () => {
    const c = new Coalescer<number, number>(async () => {
      throw new Error("boom");
    });
    await expect(c.submit(1)).rejects.toThrow("boom");
  });
});

import { OrderedWindow } from "./ordered-window";

function deferred() {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe("OrderedWindow", () => {
  it("applies items in the order they were added, whatever order their work finishes in", async () => {
    const applied: number[] = [];
    const window = new OrderedWindow<number>(10, (n) => applied.push(n));
    const work = [deferred(), deferred(), deferred()];
    for (const [i, w] of work.entries()) await window.add(i, w.promise);
    await window.add(3, undefined);
    work[2]!.resolve();
    work[1]!.resolve();
    await Promise.resolve();
    expect(applied).toEqual([]);
    work[0]!.resolve();
    await window.drain();
    expect(applied).toEqual([0, 1, 2, 3]);
  });

  it("holds at most `size` items: add waits for the oldest to be applied", async () => {
    const window = new OrderedWindow<number>(2, () => undefined);
    const first = deferred();
    await window.add(0, first.promise);
    let added = false;
    const second = window.add(1, deferred().promise).then(() => (added = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(added).toBe(false);
    first.resolve();
    await second;
    expect(added).toBe(true);
  });

  it("runs at most `maxRunning` items, and holds answered ones behind a slow earlier one up to `size`", async () => {
    const applied: number[] = [];
    const window = new OrderedWindow<number>(4, (n) => applied.push(n), undefined, 2);
    const slow = deferred();
    const quick = [deferred(), deferred(), deferred()];
    await window.add(0, slow.promise);
    let added = false;
    let adding = window.add(1, quick[0]!.promise).then(() => (added = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(added).toBe(false); // two running
    quick[0]!.resolve();
    await adding;
    // Item 1 is answered but waits for 0: another call may go out meanwhile.
    const adding2 = window.add(2, quick[1]!.promise);
    quick[1]!.resolve();
    await adding2;
    added = false;
    adding = window.add(3, quick[2]!.promise).then(() => (added = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(added).toBe(false); // four held (0 running, 1 and 2 answered, 3 running)
    expect(applied).toEqual([]);
    slow.resolve();
    await adding;
    quick[2]!.resolve();
    await window.drain();
    expect(applied).toEqual([0, 1, 2, 3]);
  });

  it("stops at the first failure: add and drain throw it, nothing after the failed item is applied", async () => {
    const applied: number[] = [];
    const window = new OrderedWindow<number>(1, (n) => applied.push(n));
    const failing = deferred();
    const adding = window.add(0, failing.promise);
    failing.reject(new Error("boom"));
    await expect(adding).rejects.toThrow("boom");
    expect(window.failed).toBe(true);
    await expect(window.drain()).rejects.toThrow("boom");
    expect(applied).toEqual([]);
  });
});

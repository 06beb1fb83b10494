/**
 * Work items running concurrently whose results are applied strictly in the order the items
 * were added, at most `size` of them held at once (running, or done and waiting for an earlier
 * one) and at most `maxRunning` of them running. The import uses it so that its checkpoint only
 * ever covers a fully answered prefix of the file, with memory bounded whatever the file's size.
 * Holding more than run lets later calls go out while an earlier, slower one is still unanswered,
 * so the server keeps `maxRunning` calls to work on instead of waiting on the slowest.
 */
export class OrderedWindow<T> {
  private readonly queue: { item: T; done: boolean }[] = [];
  private readonly running = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly size: number,
    /** Called for each item in order once it and every earlier one are done. */
    private readonly apply: (item: T) => void,
    /** Called after each round of applying. */
    private readonly afterApply: () => void = () => undefined,
    private readonly maxRunning = size,
  ) {}

  /** Whether an item's work has failed (add and drain then throw that failure). */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /**
   * Adds an item whose `work` (undefined: nothing to wait for) decides when it is done, and waits
   * until the window has room for another (fewer than `size` held, fewer than `maxRunning`
   * running). Throws the first failure.
   */
  async add(item: T, work: Promise<void> | undefined): Promise<void> {
    const entry = { item, done: false };
    this.queue.push(entry);
    if (!work) {
      entry.done = true;
      this.applyReady();
    } else {
      const run: Promise<void> = work
        .then(() => {
          entry.done = true;
          this.applyReady();
        })
        .catch((error: unknown) => {
          this.failure ??= { error };
        })
        .finally(() => {
          this.running.delete(run);
          this.wake?.();
        });
      this.running.add(run);
    }
    while ((this.queue.length >= this.size || this.running.size >= this.maxRunning) && !this.failure) await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.failure) throw this.failure.error;
  }

  /** Waits for every item's work; throws the first failure. */
  async drain(): Promise<void> {
    await this.settle();
    if (this.failure) throw this.failure.error;
  }

  /** Waits for every item's work, whatever its outcome (on the way out after a failure). */
  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.race(this.running);
  }

  private applyReady(): void {
    while (this.queue[0]?.done) this.apply(this.queue.shift()!.item);
    this.afterApply();
  }
}

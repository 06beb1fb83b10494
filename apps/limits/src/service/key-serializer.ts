/**
 * Runs work for one key at a time, in arrival order; different keys run
 * concurrently. The reserving Check's slow path goes through it per
 * (customer, meter): contended Checks of one key in this process then wait
 * here, in memory, instead of each holding a database connection while
 * waiting for the same row lock (which starved the pool and turned a burst
 * on one hot key into lock timeouts).
 */
export class KeySerializer {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

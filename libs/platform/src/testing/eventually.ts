/**
 * Waiting on conditions, never on time: services converge through JetStream and Postgres at the
 * machine's pace, so tests poll for the outcome and give up only after a generous bound.
 */

/** Retries `check` until it stops throwing, and returns its result; rethrows the last error at the bound. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await pause();
    }
  }
}

/** Polls `condition` until it holds (a throw counts as "not yet"); fails naming `what` at the bound. */
export async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await Promise.resolve().then(condition).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pause();
  }
}

const pause = () => new Promise((resolve) => setTimeout(resolve, 20));

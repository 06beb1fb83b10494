import type { Pool } from "pg";
import { isDatabaseUnavailable } from "../errors/unavailable";
import type { Logger } from "../logging/logger";

export interface DatabaseWatchOptions {
  logger: Logger;
  /** Called when the database goes down or comes back (not on every probe). */
  onChange(up: boolean): void;
  /** Between probes while the database answers. */
  upIntervalMs?: number;
  /** Between probes while it does not: short, so a restart is noticed quickly. */
  downIntervalMs?: number;
  /** A probe not answered in this time counts as down. */
  probeTimeoutMs?: number;
}

export interface DatabaseWatch {
  readonly up: boolean;
  stop(): Promise<void>;
}

/**
 * Probes the database with `SELECT 1` so health can report NOT_SERVING while it is down and
 * SERVING again once it answers, without a restart. Starts in the "up" state: it is started
 * after the service has reached its database once.
 */
export function watchDatabase(pool: Pool, options: DatabaseWatchOptions): DatabaseWatch {
  const { logger, onChange, upIntervalMs = 1_000, downIntervalMs = 250, probeTimeoutMs = 2_000 } = options;
  let up = true;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let probing: Promise<void> = Promise.resolve();
  let downSince = 0;

  const probe = async () => {
    const ok = await probeOnce(pool, probeTimeoutMs);
    if (stopped) return;
    if (ok !== up) {
      up = ok;
      if (ok) logger.info("database is back", { downForMs: Date.now() - downSince });
      else {
        downSince = Date.now();
        logger.warn("database unreachable: reporting NOT_SERVING until it answers");
      }
      onChange(ok);
    }
    timer = setTimeout(() => (probing = probe()), up ? upIntervalMs : downIntervalMs);
    timer.unref();
  };
  timer = setTimeout(() => (probing = probe()), upIntervalMs);
  timer.unref();
  return {
    get up() {
      return up;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await probing;
    },
  };
}

async function probeOnce(pool: Pool, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([pool.query("SELECT 1").then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `attempt` until it gets through to the database: while Postgres is down or still
 * starting (connection refused, 57P03 "the database system is starting up") it retries with
 * backoff instead of letting the service exit. Any other error (bad SQL, wrong credentials)
 * is thrown at once.
 */
export async function untilDatabaseAnswers<T>(
  attempt: () => Promise<T>,
  options: { logger: Logger; firstDelayMs?: number; maxDelayMs?: number },
): Promise<T> {
  const { logger, firstDelayMs = 100, maxDelayMs = 2_000 } = options;
  for (let delay = firstDelayMs, tries = 1; ; delay = Math.min(delay * 2, maxDelayMs), tries++) {
    try {
      return await attempt();
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      logger.warn("waiting for the database", { tries, retryInMs: delay, err });
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

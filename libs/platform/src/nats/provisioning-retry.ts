/**
 * Stream and consumer provisioning while a NATS cluster is still forming (or has just lost its
 * meta leader) is refused for a while: "no suitable peers for placement" until enough JetStream
 * peers have joined for the replica count, "JetStream system temporarily unavailable", timeouts.
 * A service starting then must wait for the cluster, not exit: it retries those with backoff and
 * still fails fast on anything else (a bad config is not cured by waiting).
 */
const TRANSIENT_ERR_CODES = new Set([
  10005, // no suitable peers for placement
  10008, // JetStream cluster not available
  10009, // JetStream cluster requires a leader / meta leader not ready
  10023, // insufficient resources (a peer still catching up)
]);
const TRANSIENT_CODES = new Set(["503", "TIMEOUT", "408"]);

interface NatsLikeError {
  code?: unknown;
  api_error?: { code?: number; err_code?: number };
}

export function isTransientProvisioningError(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const e = err as NatsLikeError;
  if (e.api_error?.err_code !== undefined && TRANSIENT_ERR_CODES.has(e.api_error.err_code)) return true;
  if (e.api_error?.code === 503) return true;
  return typeof e.code === "string" && TRANSIENT_CODES.has(e.code);
}

export interface ProvisioningRetryOptions {
  /** Give up (rethrow the last error) after this long in total. */
  maxWaitMs: number;
  /** Called before each wait, e.g. to log it. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Runs `attempt` until it succeeds, retrying transient JetStream errors with capped exponential backoff. */
export async function withProvisioningRetry<T>(attempt: () => Promise<T>, options: ProvisioningRetryOptions): Promise<T> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = options.now ?? Date.now;
  const giveUpAt = now() + options.maxWaitMs;
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const delayMs = Math.min(2_000, 100 * 2 ** (n - 1));
      if (!isTransientProvisioningError(err) || now() + delayMs > giveUpAt) throw err;
      options.onRetry?.(err, n, delayMs);
      await sleep(delayMs);
    }
  }
}

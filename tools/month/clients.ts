import { Code, ConnectError } from "@connectrpc/connect";
import { invoicing, limits, metering, payments, rating } from "@tally/contracts";
import { createServiceClient } from "@tally/platform";
import { TEST_KEYS } from "@tally/platform/testing";
import type { MonthDeployment } from "./deployment";

/** The public gRPC clients the month is driven through, nothing else. */
export function connectMonthClients(d: MonthDeployment) {
  const p = d.processes;
  const all = {
    meter: createServiceClient(metering.Meter, p.metering.address, TEST_KEYS.all),
    rater: createServiceClient(rating.Rating, p.rating.address, TEST_KEYS.all),
    limiter: createServiceClient(limits.Limits, p.limits.address, TEST_KEYS.all),
    invoicer: createServiceClient(invoicing.Invoicing, p.invoicing.address, TEST_KEYS.all),
    payer: createServiceClient(payments.Payments, p.payments.address, TEST_KEYS.all),
  };
  return {
    meter: all.meter.client,
    rater: all.rater.client,
    limiter: all.limiter.client,
    invoicer: all.invoicer.client,
    payer: all.payer.client,
    close: () => Object.values(all).forEach((c) => c.close()),
  };
}
export type MonthClients = ReturnType<typeof connectMonthClients>;

const RETRYABLE = new Set([Code.Unavailable, Code.DeadlineExceeded, Code.ResourceExhausted, Code.Aborted]);

/**
 * Retries what a service may refuse while it starts, restarts or catches up (UNAVAILABLE and
 * friends, or a setup call `retryIf` names): the month itself never gives up on a fault, which
 * is what a `--chaos` run relies on. Every call retried here is idempotent.
 */
export async function retrying<T>(call: () => Promise<T>, o: { retryIf?: (err: ConnectError) => boolean; timeoutMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (o.timeoutMs ?? 180_000);
  for (let pause = 20; ; pause = Math.min(pause * 2, 1000)) {
    try {
      return await call();
    } catch (err) {
      const e = ConnectError.from(err);
      if (!(RETRYABLE.has(e.code) || o.retryIf?.(e)) || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

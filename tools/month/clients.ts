import { Code, ConnectError } from "@connectrpc/connect";
import { invoicing, limits, metering, payments, rating } from "@tally/contracts";
import { createServiceClient } from "@tally/platform";
import { TEST_KEYS } from "@tally/platform/testing";
import type { DescService } from "@bufbuild/protobuf";
import type { ServiceProcess } from "../chaos/service-processes";
import type { MonthDeployment } from "./deployment";

/**
 * The public gRPC clients the month is driven through, nothing else. A service with several
 * instances is called round-robin, and a call an instance cannot take (UNAVAILABLE: killed,
 * restarting) goes to the next one, as behind a load balancer.
 */
export function connectMonthClients(d: MonthDeployment) {
  const open = <S extends DescService>(service: S, processes: ServiceProcess[]) => {
    const clients = processes.map((p) => createServiceClient(service, p.address, TEST_KEYS.all));
    return { client: roundRobin(clients.map((c) => c.client)), close: () => clients.forEach((c) => c.close()) };
  };
  const i = d.instances;
  const all = {
    meter: open(metering.Meter, i.metering),
    rater: open(rating.Rating, i.rating),
    limiter: open(limits.Limits, i.limits),
    invoicer: open(invoicing.Invoicing, i.invoicing),
    payer: open(payments.Payments, i.payments),
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

/** One client over several instances: each call starts at the next instance and moves on while one is gone (UNAVAILABLE, or CANCELED by its death mid-call). */
function roundRobin<C extends object>(clients: C[]): C {
  if (clients.length === 1) return clients[0]!;
  let next = 0;
  return new Proxy(clients[0]!, {
    get(_target, method) {
      return async (...args: unknown[]) => {
        const first = next++ % clients.length;
        let last: unknown;
        for (let k = 0; k < clients.length; k++) {
          const client = clients[(first + k) % clients.length] as Record<string | symbol, (...a: unknown[]) => Promise<unknown>>;
          try {
            return await client[method]!(...args);
          } catch (err) {
            if (!GONE.has(ConnectError.from(err).code)) throw err;
            last = err;
          }
        }
        throw last;
      };
    },
  });
}
export type MonthClients = ReturnType<typeof connectMonthClients>;

/** CANCELED: the connection died under the call (the instance was killed mid-call); the call is repeated like an unanswered one. */
const RETRYABLE = new Set([Code.Unavailable, Code.Canceled, Code.DeadlineExceeded, Code.ResourceExhausted, Code.Aborted]);
const GONE = new Set([Code.Unavailable, Code.Canceled]);

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

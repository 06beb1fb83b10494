import type { Pool } from "pg";
import type { ServiceMetrics } from "./service-metrics";

/**
 * Gauges read at scrape time: the outbox's depth and age (rows committed but not yet acked by
 * JetStream — a growing depth means the relay or NATS is behind) and the Postgres pool's use
 * (clients checked out, idle, and callers waiting for one — waiting > 0 means the pool is the
 * bottleneck). A database that does not answer leaves the outbox gauges unset rather than
 * failing the whole scrape.
 */
export function registerStorageGauges(metrics: ServiceMetrics, pool: Pool): void {
  // Registered first, so they are read before the outbox query below takes a connection
  // (collectors start in registration order): the scrape does not see itself.
  metrics.gauge("pg_pool_connections", "Postgres pool connections by state.", ["state"], (gauge) => {
    gauge.set({ state: "in_use" }, pool.totalCount - pool.idleCount);
    gauge.set({ state: "idle" }, pool.idleCount);
  });
  metrics.gauge("pg_pool_waiting_clients", "Callers waiting for a Postgres connection.", [], (gauge) => gauge.set(pool.waitingCount));
  metrics.gauge("pg_pool_max_connections", "The pool's size limit.", [], (gauge) => gauge.set(pool.options.max));
  let outbox: Promise<{ depth: number; age: number } | undefined> | undefined;
  // Both outbox gauges are collected on the same scrape: one query serves them.
  const readOutbox = () =>
    (outbox ??= pool
      .query<{ depth: string; age: string | null }>("SELECT count(*) AS depth, extract(epoch FROM now() - min(created_at)) AS age FROM outbox")
      .then(({ rows }) => ({ depth: Number(rows[0]!.depth), age: Number(rows[0]!.age ?? 0) }))
      .catch(() => undefined)
      .finally(() => setImmediate(() => (outbox = undefined))));
  metrics.gauge("outbox_depth", "Outbox rows committed and not yet published to JetStream.", [], async (gauge) => {
    const read = await readOutbox();
    if (read) gauge.set(read.depth);
    else gauge.reset();
  });
  metrics.gauge("outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row (0 when empty).", [], async (gauge) => {
    const read = await readOutbox();
    if (read) gauge.set(read.age);
    else gauge.reset();
  });
}

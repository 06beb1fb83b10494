/**
 * The reserve path without gRPC, to see where its time goes: reserving Checks straight into
 * CheckService at RATE/s (default 1,000) over CUSTOMERS customers (200) for SECONDS (5), after a
 * 1 s warm-up, latency from each call's scheduled time. Prints latency quantiles and CPU per
 * Check, what the database's backends were waiting on (pg_stat_activity sampled every 5 ms:
 * Lock = row-lock chains, IO:WALSync = commit flushes, CPU = running), and per statement its
 * count, items per statement and mean time. Not part of `npm run bench:limits`:
 *
 *   cd apps/limits && node --require ../../tools/ts-node-register.js bench/reserve-probe.ts
 */
import { createPool, migrate } from "@tally/platform";
import { createTestDatabase, ManualClock } from "@tally/platform/testing";
import { limitsService } from "../src/limits-service";
import { CheckService } from "../src/service/check-service";

const RATE = Number(process.env.RATE ?? 1000);
const SECONDS = Number(process.env.SECONDS ?? 5);
const N = Number(process.env.CUSTOMERS ?? 200);

async function main(): Promise<void> {
  const db = await createTestDatabase();
  const pool = createPool(db.url, "limits");
  await migrate(pool, "limits", limitsService.migrations);
  await pool.query("INSERT INTO known_meters (meter_key) VALUES ('tokens')");
  const customers = Array.from({ length: N }, (_, i) => `p-${i}`);
  await pool.query(
    `INSERT INTO customers (customer_id, subscription_id, plan_key, plan_version, status, period_start, period_end, revision)
       SELECT c, 'sub-' || c, 'pro', 1, 'active', '2026-01-01Z', '2099-02-01Z', 1 FROM unnest($1::text[]) c;
     INSERT INTO meter_usage (customer_id, meter_key, period_start, quantity, spend) SELECT c, 'tokens', '2026-01-01Z', 100, 0 FROM unnest($1::text[]) c;
     INSERT INTO limits (limit_id, plan_key, meter_key, kind, measure, value, currency, alerts) VALUES ('lim-pro', 'pro', 'tokens', 'hard_cap', 'units', 1000000000, '', '[]');`.replace(/\$1::text\[\]/g, `ARRAY[${customers.map((c) => `'${c}'`).join(",")}]::text[]`),
  );
  const stats = new Map<string, { n: number; items: number; ms: number }>();
  const query = pool.query.bind(pool) as (...a: unknown[]) => Promise<unknown>;
  (pool as unknown as { query: unknown }).query = async (config: { name?: string; values?: unknown[] }, ...rest: unknown[]) => {
    const name = (typeof config === "object" && config.name) || "other";
    const t = performance.now();
    try {
      return await query(config, ...rest);
    } finally {
      const s = stats.get(name) ?? { n: 0, items: 0, ms: 0 };
      s.n++;
      s.items += Array.isArray(config.values?.[0]) ? (config.values[0] as unknown[]).length : 1;
      s.ms += performance.now() - t;
      stats.set(name, s);
    }
  };
  const checks = new CheckService(pool, new ManualClock("2026-01-10T00:00:00Z"));
  for (let round = 0; round < 2; round++) {
    stats.clear();
    const latencies: number[] = [];
    const errors = new Map<string, number>();
    const total = RATE * (round === 0 ? 1 : SECONDS);
    const start = performance.now();
    const cpu = process.cpuUsage();
    // Samples what the database's backends for this database wait on, every 5 ms, on a connection of its own.
    const waits = new Map<string, number>();
    let sampling = true;
    const sampler = (async () => {
      const { Client } = await import("pg");
      const c = new Client({ connectionString: db.url });
      await c.connect();
      while (sampling) {
        const { rows } = await c.query<{ w: string }>(
          "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS w FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()",
        );
        for (const r of rows) waits.set(r.w, (waits.get(r.w) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 5));
      }
      await c.end();
    })();
    let sent = 0;
    let done = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * RATE));
        for (; sent < due; sent++) {
          const scheduled = start + (sent / RATE) * 1000;
          checks
            .check({ customerId: customers[sent % N]!, meterKey: "tokens", quantity: "1", reserve: true, reservationTtlMs: 60_000, idempotencyKey: "" })
            .then(
              () => latencies.push(performance.now() - scheduled),
              (e: Error) => errors.set(e.message.slice(0, 60), (errors.get(e.message.slice(0, 60)) ?? 0) + 1),
            )
            .finally(() => ++done === total && resolve());
        }
        if (sent < total) setTimeout(tick, 1);
      };
      tick();
    });
    sampling = false;
    await sampler;
    if (round === 0) continue;
    const c = process.cpuUsage(cpu);
    latencies.sort((a, b) => a - b);
    const q = (p: number) => latencies[Math.floor(p * latencies.length)]?.toFixed(1);
    console.log(`rate ${RATE}/s x ${SECONDS}s, ${N} customers: ok ${latencies.length} p50 ${q(0.5)} p90 ${q(0.9)} p99 ${q(0.99)} max ${latencies.at(-1)?.toFixed(1)} ms, cpu/check ${(((c.user + c.system) / total)).toFixed(0)} µs, errors ${JSON.stringify([...errors])}`);
    console.log(`  backend samples: ${[...waits].sort((a, b) => b[1] - a[1]).map(([w, n]) => `${w} ${n}`).join(", ")}`);
    for (const [k, s] of stats) console.log(`  ${k.padEnd(32)} ${String(s.n).padStart(6)} stmts  ${(s.items / s.n).toFixed(1).padStart(5)} items/stmt  ${(s.ms / s.n).toFixed(1).padStart(6)} ms/stmt`);
  }
  await pool.end();
  await db.drop();
}
main().then(() => process.exit(0), (e: unknown) => { console.error(e); process.exit(1); });

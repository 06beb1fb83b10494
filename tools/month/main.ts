import { writeFileSync } from "node:fs";
import { CHAOS_SHAPE, monthChaos } from "./chaos";
import { runMonth } from "./month-run";
import { formatMonthReport } from "./report";
import { LOG_DIR } from "../chaos/service-processes";

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer`);
  return v;
}

/**
 * `npm run month [-- --customers 1000 --events 1000000 --seed 16 --out month-report.json] [--chaos [--kills 2]]`.
 * Exits 1 when any promise of the month is broken, 2 when the run itself failed.
 */
async function main(): Promise<void> {
  const chaos = process.argv.includes("--chaos");
  const seed = flag("seed", 16);
  const customers = flag("customers", 1000);
  const ticksPerDay = flag("ticks-per-day", 4);
  const log = (line: string) => process.stderr.write(`month: ${line}\n`);
  const outIndex = process.argv.indexOf("--out");
  const out = outIndex >= 0 ? process.argv[outIndex + 1]! : "month-report.json";
  const started = Date.now();
  const hook = chaos ? monthChaos({ seed, customers, ticksPerDay, killsPerProcess: flag("kills", 2), log }) : undefined;
  if (hook) log(`chaos plan:\n  ${hook.describePlan().join("\n  ")}`);
  const report = await runMonth({
    seed,
    customers,
    events: flag("events", 1_000_000),
    batchSize: flag("batch-size", 1000),
    concurrency: flag("concurrency", 4),
    ticksPerDay,
    log,
    ...(hook && { chaos: hook, shape: CHAOS_SHAPE }),
  });
  writeFileSync(out, JSON.stringify({ ...report, wallSeconds: (Date.now() - started) / 1000 }, null, 2));
  process.stdout.write(`${formatMonthReport(report)}\n(${((Date.now() - started) / 1000).toFixed(0)} s; JSON in ${out}; service logs in ${LOG_DIR})\n`);
  process.exit(report.failures.length === 0 ? 0 : 1);
}

main().catch((err: unknown) => {
  process.stderr.write(`month: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(2);
});

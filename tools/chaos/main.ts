import { formatReport, runChaos } from "./chaos-run";
import { LOG_DIR } from "./service-processes";

/** `npm run chaos` (minutes) or `npm run chaos -- --quick` (seconds). Exits 1 on any failure. */
async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const started = Date.now();
  const report = await runChaos({ quick, log: (line) => process.stderr.write(`chaos: ${line}\n`) });
  process.stdout.write(`${formatReport(report)}\n`);
  for (const failure of report.failures) process.stdout.write(`FAILED: ${failure}\n`);
  process.stdout.write(`(${((Date.now() - started) / 1000).toFixed(0)} s; service logs in ${LOG_DIR})\n`);
  process.exit(report.failures.length === 0 ? 0 : 1);
}

main().catch((err: unknown) => {
  process.stderr.write(`chaos: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(2);
});

import * as path from "node:path";
import type { Command } from "commander";
import { ExitCode } from "../exit-codes";
import { renderFields } from "../format/table";
import { rejectedLines } from "../import/import-totals";
import { importUsage, type ImportFormat, type ImportResult } from "../import/importer";
import { ImportProgressBar } from "../import/progress-bar";
import { RecordBatchClient } from "../import/record-batch-client";
import { positiveInt } from "../options";
import type { Session } from "../session";
import { UsageError } from "../usage-error";

export function registerImportCommand(program: Command, session: Session): void {
  program
    .command("import <file>")
    .description("record usage events from an NDJSON or CSV file through Meter.RecordBatch; resumable, re-runs are safe")
    .option("--format <format>", "ndjson or csv (default: from the file extension)")
    .option("--batch-size <n>", "events per RecordBatch call (metering takes up to 5,000)", positiveInt(100, 5000), 1000)
    .option("--concurrency <n>", "RecordBatch calls in flight", positiveInt(1, 64), 8)
    .option("--checkpoint <path>", "checkpoint file (default <file>.checkpoint.json)")
    .option("--rejects <path>", "rejects file, one JSON line per rejected line (default <file>.rejects.ndjson)")
    .option("--restart", "ignore the checkpoint and start from the first line")
    .option("--timeout <ms>", "deadline of each RecordBatch call", positiveInt(100), 60_000)
    .option("--no-progress", "no progress bar (it is shown only on a terminal anyway)")
    .action(async (file: string, o: { format?: string; batchSize: number; concurrency: number; checkpoint?: string; rejects?: string; restart?: boolean; timeout: number; progress: boolean }) => {
      const full = path.resolve(session.io.cwd, file);
      const conn = session.connections.options;
      const client = new RecordBatchClient(conn.addresses.metering, conn.apiKey);
      const showBar = o.progress && session.io.stderr.isTTY === true;
      let bar: ImportProgressBar | undefined;
      let result: ImportResult;
      // Ctrl-C: stop reading, let the batches in flight be answered and checkpointed, then summarize.
      const interrupt = new AbortController();
      const unsubscribe = session.io.onInterrupt?.(() => interrupt.abort());
      try {
        result = await importUsage({
          file: full,
          format: importFormat(full, o.format),
          checkpointPath: o.checkpoint ? path.resolve(session.io.cwd, o.checkpoint) : `${full}.checkpoint.json`,
          rejectsPath: o.rejects ? path.resolve(session.io.cwd, o.rejects) : `${full}.rejects.ndjson`,
          batchSize: o.batchSize,
          concurrency: o.concurrency,
          restart: o.restart === true,
          signal: interrupt.signal,
          send: (request) => client.send(request, o.timeout),
          onProgress: showBar
            ? (p) => {
                bar ??= new ImportProgressBar(session.io.stderr, p.fileBytes, p.doneBytes);
                bar.update(p);
              }
            : undefined,
        });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new UsageError(`${file}: no such file`);
        throw err;
      } finally {
        unsubscribe?.();
        bar?.stop();
        client.close();
      }
      session.out.value(result, () => renderSummary(result));
      if (result.interrupted) session.exitCode = ExitCode.INTERRUPTED;
      else if (rejectedLines(result.totals) > 0) session.exitCode = ExitCode.PARTIAL_IMPORT;
    });
}

function importFormat(file: string, flag: string | undefined): ImportFormat {
  const format = (flag ?? (file.toLowerCase().endsWith(".csv") ? "csv" : "ndjson")).toLowerCase();
  if (format !== "ndjson" && format !== "csv") throw new UsageError(`--format ${flag}: must be ndjson or csv`);
  return format;
}

function renderSummary(r: ImportResult): string {
  const n = (x: number) => x.toLocaleString("en-US");
  const t = r.totals;
  const rejected = rejectedLines(t);
  return renderFields([
    ["file", r.file],
    ["resumed at byte", r.resumedFrom > 0 ? n(r.resumedFrom) : undefined],
    ["lines", n(t.lines)],
    ["accepted", n(t.accepted)],
    ["duplicate", n(t.duplicate)],
    ["conflict", n(t.conflict)],
    ["rejected", n(t.rejected)],
    ["unreadable", n(t.unreadable)],
    ["rejects file", rejected > 0 ? `${r.rejectsPath} (${n(rejected)} lines)` : undefined],
    ["interrupted", r.interrupted ? `at byte ${n(r.doneBytes)} of ${n(r.fileBytes)}: run the same command to resume` : undefined],
    ["this run", `${n(r.eventsThisRun)} events in ${(r.elapsedMs / 1000).toFixed(1)} s, ${n(r.eventsPerSecond)} events/s`],
  ]);
}

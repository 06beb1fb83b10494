import * as fs from "node:fs";
import { Code, ConnectError } from "@connectrpc/connect";
import { metering } from "@tally/contracts";
import { UsageError } from "../usage-error";
import { encodeRecordBatch } from "./batch-encoder";
import type { BatchOutcome } from "./batch-outcome";
import { fileHead, loadCheckpoint, saveCheckpoint, type Checkpoint } from "./checkpoint";
import { createCsvParser } from "./csv-parser";
import { emptyTotals, type ImportTotals } from "./import-totals";
import { LineParseError } from "./line-parse-error";
import { readLines, type Line } from "./line-reader";
import { parseNdjsonLine } from "./ndjson-parser";
import { OrderedWindow } from "./ordered-window";
import type { ImportEvent } from "./usage-event";

export type ImportFormat = "ndjson" | "csv";

export interface ImportOptions {
  file: string;
  format: ImportFormat;
  checkpointPath: string;
  rejectsPath: string;
  /** Events per RecordBatch call. */
  batchSize: number;
  /**
   * RecordBatch calls in flight, at most. Up to HELD_PER_CALL times as many batches are held
   * (answered, waiting for an earlier one to be answered before they count and checkpoint).
   */
  concurrency: number;
  /** Ignore an existing checkpoint and start from the first line. */
  restart: boolean;
  /** Sends one encoded RecordBatchRequest. */
  send(request: Buffer): Promise<BatchOutcome>;
  onProgress?(progress: ImportProgress): void;
  /** Stops reading when aborted: batches in flight are answered and checkpointed, then the import returns. */
  signal?: AbortSignal;
  /** Attempts per batch on UNAVAILABLE, DEADLINE_EXCEEDED or RESOURCE_EXHAUSTED (default 6). */
  maxAttempts?: number;
  /** First retry delay, doubled each attempt up to 5 s (default 200 ms). */
  retryDelayMs?: number;
}

export interface ImportProgress {
  fileBytes: number;
  /** Bytes of the file answered and checkpointed, including earlier runs. */
  doneBytes: number;
  totals: ImportTotals;
  /** Events answered by the server in this run. */
  eventsThisRun: number;
  elapsedMs: number;
}

export interface ImportResult extends ImportProgress {
  file: string;
  /** CPU time this process spent on the import (user + system), for benchmarks. */
  cpuMs: number;
  /** Stopped by the signal before the end of the file; a re-run resumes at `doneBytes`. */
  interrupted: boolean;
  format: ImportFormat;
  /** Byte offset this run started from (0 unless it resumed). */
  resumedFrom: number;
  eventsPerSecond: number;
  rejectsPath: string;
  checkpointPath: string;
}

interface Batch {
  events: ImportEvent[];
  /** The line of each event, in order. */
  lines: Line[];
  unreadable: { line: Line; error: LineParseError }[];
  /** Offset of the batch's first line. */
  start: number;
  /** Offset and number of the line after this batch's last one. */
  end: number;
  nextLine: number;
  outcome?: BatchOutcome;
}

const RETRYABLE = new Set([Code.Unavailable, Code.DeadlineExceeded, Code.ResourceExhausted]);
const CHECKPOINT_EVERY_MS = 250;
/**
 * Batches held per call in flight. With only as many held as in flight, one slow answer stalled
 * every later send until it came (its followers, answered, still took their places): metering
 * then had fewer calls to work on than the direct RecordBatch ceiling of bench:import gives it.
 */
const HELD_PER_CALL = 4;

/**
 * Streams usage events from an NDJSON or CSV file into Meter.RecordBatch.
 *
 * Several batches are in flight at once, but they are accounted for in file order: a batch's
 * results (counters, rejects file, checkpoint offset) are applied only once every batch before
 * it has been answered. So the checkpoint always marks a prefix of the file that is fully done,
 * and memory is bounded by `concurrency` × HELD_PER_CALL batches whatever the file's size. Re-sending lines after
 * a crash is harmless: metering answers DUPLICATE for ids it already holds.
 */
export async function importUsage(options: ImportOptions): Promise<ImportResult> {
  const started = Date.now();
  const cpuBefore = process.cpuUsage();
  const fileBytes = (await fs.promises.stat(options.file)).size;
  const checkpoint = options.restart ? undefined : await resumable(options);
  const { head, headBytes } = checkpoint ?? (await fileHead(options.file));
  const state = {
    offset: checkpoint?.offset ?? 0,
    nextLine: checkpoint?.nextLine ?? 1,
    rejectsBytes: checkpoint?.rejectsBytes ?? 0,
    totals: checkpoint?.totals ?? emptyTotals(),
    eventsThisRun: 0,
  };
  const resumedFrom = state.offset;
  const rejects = openRejects(options.rejectsPath, checkpoint);

  const snapshot = (): Checkpoint => ({
    version: 1,
    file: options.file,
    head,
    headBytes,
    offset: state.offset,
    nextLine: state.nextLine,
    rejectsBytes: state.rejectsBytes,
    totals: { ...state.totals },
  });
  const progress = (): ImportProgress => ({
    fileBytes,
    doneBytes: state.offset,
    totals: { ...state.totals },
    eventsThisRun: state.eventsThisRun,
    elapsedMs: Date.now() - started,
  });

  let saving = Promise.resolve();
  let lastSave = 0;
  const save = (force: boolean) => {
    if (!force && Date.now() - lastSave < CHECKPOINT_EVERY_MS) return;
    lastSave = Date.now();
    const next = snapshot();
    saving = saving.then(() => saveCheckpoint(options.checkpointPath, next));
  };

  /** Applies an answered batch: its rejects, its counts, and the checkpoint offset past it. */
  const apply = (batch: Batch) => {
    state.rejectsBytes += writeRejects(rejects, batch);
    addTotals(state.totals, batch);
    state.eventsThisRun += batch.events.length;
    state.offset = batch.end;
    state.nextLine = batch.nextLine;
  };
  const window = new OrderedWindow<Batch>(
    options.concurrency * HELD_PER_CALL,
    apply,
    () => {
      save(false);
      options.onProgress?.(progress());
    },
    options.concurrency,
  );
  const dispatch = (batch: Batch) =>
    window.add(
      batch,
      batch.events.length === 0
        ? undefined
        : sendWithRetry(options, encodeRecordBatch(batch.events)).then((outcome) => {
            if (outcome.results !== batch.events.length) throw new Error(`RecordBatch answered ${outcome.results} results for ${batch.events.length} events`);
            batch.outcome = outcome;
          }),
    );

  try {
    const parse = await lineParser(options, state.offset);
    let batch = newBatch(state.offset, state.nextLine);
    reading: for await (const lines of readLines(options.file, state.offset, state.nextLine)) {
      for (const line of lines) {
        batch.end = line.end;
        batch.nextLine = line.number + 1;
        if (parse.skip(line)) continue;
        try {
          batch.events.push(parse.event(line.text));
          batch.lines.push(line);
        } catch (err) {
          if (!(err instanceof LineParseError)) throw err;
          batch.unreadable.push({ line, error: err });
        }
        if (batch.events.length >= options.batchSize) {
          await dispatch(batch);
          batch = newBatch(batch.end, batch.nextLine);
          if (options.signal?.aborted) break reading;
        }
      }
    }
    if (batch.end > batch.start && !options.signal?.aborted) await dispatch(batch);
    await window.drain();
  } finally {
    await window.settle();
    save(true);
    await saving;
    fs.closeSync(rejects);
  }
  const result = progress();
  const cpu = process.cpuUsage(cpuBefore);
  return {
    ...result,
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    interrupted: result.doneBytes < fileBytes && options.signal?.aborted === true,
    file: options.file,
    format: options.format,
    resumedFrom,
    eventsPerSecond: result.elapsedMs > 0 ? Math.round((result.eventsThisRun * 1000) / result.elapsedMs) : 0,
    rejectsPath: options.rejectsPath,
    checkpointPath: options.checkpointPath,
  };
}

function newBatch(start: number, nextLine: number): Batch {
  return { events: [], lines: [], unreadable: [], start, end: start, nextLine };
}

/** The checkpoint to resume from, if there is one for this file. */
async function resumable(options: ImportOptions): Promise<Checkpoint | undefined> {
  const checkpoint = await loadCheckpoint(options.checkpointPath);
  if (!checkpoint) return undefined;
  const { head } = await fileHead(options.file, checkpoint.headBytes);
  if (checkpoint.version !== 1 || checkpoint.file !== options.file || checkpoint.head !== head) {
    throw new UsageError(`checkpoint ${options.checkpointPath} belongs to another file or another version of it: remove it, or pass --restart`);
  }
  return checkpoint;
}

/** Parses lines in the file's format; a CSV header line is read (even when resuming past it) and skipped. */
async function lineParser(options: ImportOptions, start: number): Promise<{ skip(line: Line): boolean; event(text: string): ImportEvent }> {
  if (options.format === "ndjson") return { skip: () => false, event: parseNdjsonLine };
  let header: Line | undefined;
  for await (const lines of readLines(options.file, 0, 1)) {
    header = lines[0];
    break;
  }
  if (!header) throw new UsageError(`${options.file} is empty: a CSV import needs a header row`);
  let event: (text: string) => ImportEvent;
  try {
    event = createCsvParser(header.text);
  } catch (err) {
    if (err instanceof LineParseError) throw new UsageError(`${options.file} line ${header.number}: ${err.message}`);
    throw err;
  }
  const headerLine = header;
  return { skip: (line) => start === 0 && line.number === headerLine.number, event };
}

/** Opens the rejects file: cut back to what the checkpoint covers when resuming, emptied otherwise. */
function openRejects(path: string, checkpoint: Checkpoint | undefined): number {
  if (!checkpoint) return fs.openSync(path, "w");
  const fd = fs.openSync(path, "a");
  if (fs.fstatSync(fd).size > checkpoint.rejectsBytes) fs.ftruncateSync(fd, checkpoint.rejectsBytes);
  return fd;
}

/**
 * One JSON line per rejected line: its number, the event id, why (status, code, field, reason)
 * and the line as it was, so it can be fixed and imported again. Returns the bytes written.
 */
function writeRejects(fd: number, batch: Batch): number {
  const entries: { line: number; text: string }[] = batch.unreadable.map(({ line, error }) => ({
    line: line.number,
    text: JSON.stringify({ line: line.number, status: "UNREADABLE", code: error.code, reason: error.message, input: line.text }),
  }));
  for (const { index, result } of batch.outcome?.problems ?? []) {
    const line = batch.lines[index]!;
    entries.push({
      line: line.number,
      text: JSON.stringify({
        line: line.number,
        id: result.eventId,
        status: metering.EventStatus[result.status],
        code: result.code,
        // The server names the field within its batch ("events[7].time"); within the line it is the event's.
        field: result.field.replace(/^events\[\d+\]/, "event"),
        reason: result.reason,
        input: line.text,
      }),
    });
  }
  if (entries.length === 0) return 0;
  entries.sort((a, b) => a.line - b.line);
  return fs.writeSync(fd, entries.map((e) => e.text + "\n").join(""));
}

function addTotals(totals: ImportTotals, batch: Batch): void {
  totals.lines += batch.events.length + batch.unreadable.length;
  totals.unreadable += batch.unreadable.length;
  const o = batch.outcome;
  if (!o) return;
  totals.accepted += o.accepted;
  totals.duplicate += o.duplicate;
  totals.conflict += o.conflict;
  totals.rejected += o.rejected;
}

async function sendWithRetry(options: ImportOptions, request: Buffer): Promise<BatchOutcome> {
  const maxAttempts = options.maxAttempts ?? 6;
  const delay = options.retryDelayMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await options.send(request);
    } catch (err) {
      if (attempt >= maxAttempts || !RETRYABLE.has(ConnectError.from(err).code)) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, delay * 2 ** (attempt - 1))));
    }
  }
}

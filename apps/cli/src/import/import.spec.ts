import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { TEST_KEYS } from "@tally/platform/testing";
import { ExitCode } from "../exit-codes";
import { startCliStack, type CliStack } from "../testing/cli-harness";
import { importUsage, type ImportProgress, type ImportResult } from "./importer";
import { RecordBatchClient } from "./record-batch-client";

const TYPE = "llm.completion";
const HOUR_AGO = new Date(Date.now() - 3_600_000).toISOString();

let stack: CliStack;
let dir: string;

beforeAll(async () => {
  stack = await startCliStack();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "tally-import-"));
  const created = await stack.tally(["meters", "create", "tokens", "--event-type", TYPE, "--aggregation", "sum", "--value-property", "tokens", "--group-by", "model"]);
  expect(created).toMatchObject({ code: 0, stderr: "" });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** `count` good events for one customer: tokens i+1, models alternating; their total is n(n+1)/2. */
function goodEvents(customer: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify({ id: `${customer}_e${i}`, customer_id: customer, event_type: TYPE, time: HOUR_AGO, properties: { model: i % 2 ? "gpt-4o" : "claude", tokens: i + 1 } }),
  );
}

function write(name: string, lines: string[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

async function importJson(args: string[]): Promise<{ code: number; result: ImportResult; stderr: string }> {
  const run = await stack.tally(["import", ...args, "--json"]);
  return { code: run.code, result: JSON.parse(run.stdout) as ImportResult, stderr: run.stderr };
}

async function totalTokens(customer: string): Promise<string> {
  const run = await stack.tally(["usage", customer, "--meter", "tokens", "--window", "none", "--from", "3h", "--json"]);
  const rows = (JSON.parse(run.stdout) as { rows: { value: string }[] }).rows;
  return rows[0]?.value ?? "0";
}

function rejects(file: string): Record<string, unknown>[] {
  return fs.readFileSync(`${file}.rejects.ndjson`, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("tally import (NDJSON, real metering)", () => {
  it("records every good line once, writes each bad one with its reason to the rejects file, and exits 5", async () => {
    const lines = goodEvents("cus_a", 2345);
    // Lines 10, 20, 30, 40, 50 (1-based) are replaced by bad or repeated events.
    lines[9] = "{not json";
    lines[19] = JSON.stringify({ id: "cus_a_x20", customer_id: "cus_a", event_type: "no.such.type", time: HOUR_AGO });
    lines[29] = JSON.stringify({ id: "cus_a_x30", customer_id: "cus_a", event_type: TYPE, time: HOUR_AGO, properties: { model: "claude", tokens: "-5" } });
    lines[39] = JSON.stringify({ id: "cus_a_e0", customer_id: "cus_a", event_type: TYPE, time: HOUR_AGO, properties: { model: "claude", tokens: 999 } });
    lines[49] = lines[0]!;
    lines.splice(100, 0, "", "   ");
    const file = write("a.ndjson", lines);

    const { code, result } = await importJson([file, "--batch-size", "500", "--concurrency", "3"]);

    expect(code).toBe(ExitCode.PARTIAL_IMPORT);
    expect(result.totals).toEqual({ lines: 2345, accepted: 2340, duplicate: 1, conflict: 1, rejected: 2, unreadable: 1 });
    expect(result.doneBytes).toBe(fs.statSync(file).size);
    const rejected = rejects(file);
    expect(rejected.map((r) => [r.line, r.status, r.code])).toEqual([
      [10, "UNREADABLE", "invalid_json"],
      [20, "REJECTED", "unknown_event_type"],
      [30, "REJECTED", expect.any(String)],
      [40, "CONFLICT", "idempotency_conflict"],
    ]);
    expect(rejected[2]).toMatchObject({ id: "cus_a_x30", field: "event.properties[tokens]", input: lines[29] });
    expect(rejected[1]!.reason).toContain("no.such.type");
    // Sum of tokens 1..2345 less the replaced lines 10, 20, 30, 40, 50 (tokens 10, 20, 30, 40, 50).
    expect(await totalTokens("cus_a")).toBe(String((2345 * 2346) / 2 - 150));
  }, 60_000);

  it("sends nothing again once done; --restart re-sends everything, all duplicates", async () => {
    const file = write("b.ndjson", goodEvents("cus_b", 300));
    expect((await importJson([file])).result.totals.accepted).toBe(300);

    const again = await importJson([file]);
    expect(again.code).toBe(ExitCode.OK);
    expect(again.result).toMatchObject({ eventsThisRun: 0, totals: { accepted: 300, duplicate: 0 } });

    const restarted = await importJson([file, "--restart"]);
    expect(restarted.result).toMatchObject({ eventsThisRun: 300, resumedFrom: 0, totals: { accepted: 0, duplicate: 300 } });
    expect(await totalTokens("cus_b")).toBe(String((300 * 301) / 2));
  }, 60_000);

  it("resumes from the checkpoint after a failure: every event lands once and the rejects file holds each bad line once", async () => {
    const lines = goodEvents("cus_c", 2000);
    lines[150] = "oops";
    lines[1500] = "still not json";
    const file = write("c.ndjson", lines);
    const client = new RecordBatchClient(stack.services.metering!.address, TEST_KEYS.ingest);
    let calls = 0;
    const progress: ImportProgress[] = [];
    const failing = importUsage({
      file,
      format: "ndjson",
      checkpointPath: `${file}.checkpoint.json`,
      rejectsPath: `${file}.rejects.ndjson`,
      batchSize: 100,
      concurrency: 4,
      restart: false,
      // The 8th call dies as a crash would; others may be in flight and land meanwhile.
      send: (request) => (++calls === 8 ? Promise.reject(new ConnectError("boom", Code.Internal)) : client.send(request, 10_000)),
      onProgress: (p) => progress.push(p),
    });
    await expect(failing).rejects.toThrow("boom");
    client.close();
    const checkpoint = JSON.parse(fs.readFileSync(`${file}.checkpoint.json`, "utf8")) as { offset: number; totals: { accepted: number } };
    expect(checkpoint.offset).toBeGreaterThan(0);
    expect(checkpoint.offset).toBeLessThan(fs.statSync(file).size);
    expect(checkpoint.totals.accepted).toBeLessThanOrEqual(700);
    expect(progress.map((p) => p.doneBytes)).toEqual([...progress.map((p) => p.doneBytes)].sort((a, b) => a - b));

    const { code, result } = await importJson([file, "--batch-size", "100"]);

    expect(code).toBe(ExitCode.PARTIAL_IMPORT);
    expect(result.resumedFrom).toBe(checkpoint.offset);
    expect(result.totals.lines).toBe(2000);
    expect(result.totals.unreadable).toBe(2);
    // Batches answered after the failure but past the checkpoint come back as duplicates, never twice as accepted.
    expect(result.totals.accepted).toBe(1998);
    expect(result.totals.duplicate).toBeLessThanOrEqual(3 * 100);
    expect(rejects(file).map((r) => r.line)).toEqual([151, 1501]);
    expect(await totalTokens("cus_c")).toBe(String((2000 * 2001) / 2 - 151 - 1501));
  }, 60_000);

  it("refuses a checkpoint written for another file at the same path (exit 1)", async () => {
    const file = write("d.ndjson", goodEvents("cus_d", 10));
    expect((await importJson([file])).code).toBe(ExitCode.OK);
    fs.writeFileSync(file, goodEvents("cus_d2", 10).join("\n"));
    const run = await stack.tally(["import", file]);
    expect(run.code).toBe(ExitCode.USAGE);
    expect(run.stderr).toContain("--restart");
  }, 30_000);

  it("shows a live progress bar on a terminal and a summary", async () => {
    const file = write("e.ndjson", goodEvents("cus_e", 1500));
    let stderr = "";
    let stdout = "";
    const { runCli } = await import("../cli");
    const code = await runCli(["import", file, "--batch-size", "100"], {
      env: stack.cliEnv,
      cwd: dir,
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { isTTY: true, columns: 160, write: (s: string) => (stderr += s) },
    });
    expect(code).toBe(ExitCode.OK);
    expect(stderr).toMatch(/100% \| [\d,]+ events\/s \| ETA \d+s \| accepted 1,500 · duplicate 0 · rejected 0/);
    expect(stdout).toMatch(/accepted\s+1,500/);
    expect(stdout).toMatch(/this run\s+1,500 events in [\d.]+ s, [\d,]+ events\/s/);
  }, 30_000);

  it("stops cleanly on Ctrl-C (exit 130) with its checkpoint saved, and the next run finishes the file", async () => {
    const file = write("h.ndjson", goodEvents("cus_h", 3000));
    const { runCli } = await import("../cli");
    let interrupt: (() => void) | undefined;
    let stdout = "";
    const code = await runCli(["import", file, "--batch-size", "100", "--concurrency", "2"], {
      env: stack.cliEnv,
      cwd: dir,
      stdout: { write: (s: string) => (stdout += s) },
      // The first progress drawn on the "terminal" is the moment the user presses Ctrl-C.
      stderr: { isTTY: true, columns: 160, write: () => interrupt?.() },
      onInterrupt: (handler) => {
        interrupt = handler;
        return () => (interrupt = undefined);
      },
    });
    expect(code).toBe(ExitCode.INTERRUPTED);
    expect(stdout).toMatch(/^interrupted\s+at byte [\d,]+ of [\d,]+: run the same command to resume$/m);
    const checkpoint = JSON.parse(fs.readFileSync(`${file}.checkpoint.json`, "utf8")) as { offset: number; totals: { accepted: number } };
    expect(checkpoint.offset).toBeLessThan(fs.statSync(file).size);
    expect(checkpoint.totals.accepted).toBeLessThan(3000);

    const { code: resumed, result } = await importJson([file]);
    expect(resumed).toBe(ExitCode.OK);
    expect(result).toMatchObject({ resumedFrom: checkpoint.offset, interrupted: false, totals: { lines: 3000, accepted: 3000 } });
    expect(await totalTokens("cus_h")).toBe(String((3000 * 3001) / 2));
  }, 30_000);

  it("fails with UNAUTHENTICATED and exit 4 for an unknown key, before anything is recorded", async () => {
    const file = write("f.ndjson", goodEvents("cus_f", 5));
    const run = await stack.tally(["import", file], { env: { TALLY_API_KEY: "nope" } });
    expect(run.code).toBe(ExitCode.UNAVAILABLE);
    expect(run.stderr).toMatch(/^error: UNAUTHENTICATED/);
    expect(await totalTokens("cus_f")).toBe("0");
  }, 30_000);
});

describe("tally import (CSV, real metering)", () => {
  it("reads the header, quoted fields and properties; a malformed row goes to the rejects file", async () => {
    const file = path.join(dir, "g.csv");
    fs.writeFileSync(
      file,
      [
        "id,customer_id,event_type,time,model,tokens",
        `g1,cus_g,${TYPE},${HOUR_AGO},"gpt-4o",100`,
        `"g2",cus_g,${TYPE},${HOUR_AGO},"claude, large",50`,
        `g3,cus_g,${TYPE},,gpt-4o,7`,
        `g4,cus_g,${TYPE},${HOUR_AGO},gpt-4o`,
      ].join("\r\n"),
    );
    const { code, result } = await importJson([file]);
    expect(code).toBe(ExitCode.PARTIAL_IMPORT);
    expect(result).toMatchObject({ format: "csv", totals: { lines: 4, accepted: 3, unreadable: 1 } });
    expect(rejects(file)).toEqual([expect.objectContaining({ line: 5, status: "UNREADABLE", code: "invalid_csv" })]);
    const byModel = await stack.tally(["usage", "cus_g", "--meter", "tokens", "--by", "model", "--window", "none", "--from", "3h", "--json"]);
    const rows = (JSON.parse(byModel.stdout) as { rows: { group: Record<string, string>; value: string }[] }).rows;
    expect(Object.fromEntries(rows.map((r) => [r.group.model, r.value]))).toEqual({ "claude, large": "50", "gpt-4o": "107" });
  }, 30_000);
});

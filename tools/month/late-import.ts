import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { TEST_KEYS } from "@tally/platform/testing";
import { METER } from "./plans";
import type { UsageEvent } from "./scenario";

const ROOT = path.resolve(__dirname, "../..");
const run = promisify(execFile);

export interface ImportSummary {
  accepted: number;
  duplicate: number;
  rejected: number;
}

/** Sends events the way an operator backfills a file: `tally import` (apps/cli) on NDJSON. */
export async function tallyImport(events: readonly UsageEvent[], meteringAddress: string): Promise<ImportSummary> {
  const dir = mkdtempSync(path.join(tmpdir(), "tally-month-import-"));
  try {
    const file = path.join(dir, "late.ndjson");
    writeFileSync(
      file,
      events.map((e) => JSON.stringify({ id: e.id, customer_id: e.customerId, event_type: METER.eventType, time: e.time.toISOString(), properties: { tokens: String(e.tokens), model: e.model } })).join("\n") + "\n",
    );
    const { stdout } = await run(process.execPath, [path.join(ROOT, "apps/cli/bin/tally.js"), "import", file, "--metering", meteringAddress, "--key", TEST_KEYS.all, "--json", "--no-progress"], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const summary = JSON.parse(stdout) as Record<string, unknown>;
    const n = (k: string) => Number(summary[k] ?? (summary.totals as Record<string, unknown> | undefined)?.[k] ?? 0);
    return { accepted: n("accepted"), duplicate: n("duplicate"), rejected: n("rejected") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * The text of a PDF as poppler's `pdftotext -layout` reads it (lines kept, columns side by side),
 * with non-breaking spaces made plain. Needs poppler-utils (tools/setup.sh installs it).
 */
export async function pdfText(pdf: Buffer): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "invoice-pdf-"));
  try {
    const file = path.join(dir, "invoice.pdf");
    await writeFile(file, pdf);
    const { stdout } = await run("pdftotext", ["-layout", "-enc", "UTF-8", file, "-"]);
    return stdout.replace(/\u00a0/g, " ");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

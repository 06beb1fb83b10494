import { createHash } from "node:crypto";
import * as fs from "node:fs";
import type { ImportTotals } from "./import-totals";

/**
 * How far an import got: every line before `offset` has been answered by the server and its
 * rejects written (the rejects file was `rejectsBytes` long then). Saved atomically (write,
 * then rename) so a crash leaves the old or the new checkpoint, never half of one.
 */
export interface Checkpoint {
  version: 1;
  /** Absolute path of the imported file. */
  file: string;
  /** SHA-256 of the file's first `headBytes` bytes (up to 64 KiB): a different file at the same path is refused, a longer one (lines appended) is not. */
  head: string;
  headBytes: number;
  offset: number;
  /** Number of the first line at `offset`. */
  nextLine: number;
  rejectsBytes: number;
  totals: ImportTotals;
}

const HEAD_BYTES = 64 * 1024;

/** Hash of the file's first `length` bytes (default: up to 64 KiB). */
export async function fileHead(path: string, length = HEAD_BYTES): Promise<{ head: string; headBytes: number }> {
  const handle = await fs.promises.open(path, "r");
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return { head: createHash("sha256").update(buffer.subarray(0, bytesRead)).digest("hex"), headBytes: bytesRead };
  } finally {
    await handle.close();
  }
}

export async function loadCheckpoint(path: string): Promise<Checkpoint | undefined> {
  let text: string;
  try {
    text = await fs.promises.readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  return JSON.parse(text) as Checkpoint;
}

export async function saveCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  const tmp = `${path}.tmp`;
  await fs.promises.writeFile(tmp, JSON.stringify(checkpoint) + "\n");
  await fs.promises.rename(tmp, path);
}

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readLines, type Line } from "./line-reader";

async function all(file: string, start = 0, first = 1): Promise<Line[]> {
  const lines: Line[] = [];
  for await (const chunk of readLines(file, start, first)) lines.push(...chunk);
  return lines;
}

describe("readLines", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tally-lines-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("gives each line its number and the byte offset after it, across CRLF, blank lines, multi-byte text and no final newline", async () => {
    const file = path.join(dir, "a.txt");
    fs.writeFileSync(file, "ab\r\n\nčd\nlast");
    const lines = await all(file);
    expect(lines).toEqual([
      { text: "ab", number: 1, end: 4 },
      { text: "čd", number: 3, end: 9 },
      { text: "last", number: 4, end: 13 },
    ]);
    // Resuming at an offset continues with the numbering the checkpoint kept.
    expect(await all(file, 5, 3)).toEqual(lines.slice(1));
  });

  it("keeps lines whole across read chunks of 1 MiB", async () => {
    const file = path.join(dir, "big.txt");
    const line = "x".repeat(999);
    fs.writeFileSync(file, `${line}\n`.repeat(3000));
    const lines = await all(file);
    expect(lines).toHaveLength(3000);
    expect(lines.every((l) => l.text === line)).toBe(true);
    expect(lines[2999]!.end).toBe(3_000_000);
  });
});

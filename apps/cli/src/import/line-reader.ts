import * as fs from "node:fs";

/** One line of the file without its line break, with where the next line starts. */
export interface Line {
  text: string;
  /** 1-based line number in the file. */
  number: number;
  /** Byte offset just past this line's line break: where a resumed import starts. */
  end: number;
}

/**
 * Streams a file's lines from byte `start` (a line boundary), a chunk at a time: memory stays
 * at one read buffer plus one partial line, whatever the file's size. Lines are split on the
 * byte 0x0A, which never occurs inside a multi-byte UTF-8 character; a trailing "\r" is dropped.
 * Blank lines are skipped (counted in line numbers).
 */
export async function* readLines(path: string, start: number, firstLineNumber: number): AsyncGenerator<Line[]> {
  let number = firstLineNumber - 1;
  let offset = start;
  let rest: Buffer | undefined;
  for await (const chunk of fs.createReadStream(path, { start, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const data = rest ? Buffer.concat([rest, chunk]) : chunk;
    const lines: Line[] = [];
    let from = 0;
    for (let nl = data.indexOf(10, from); nl >= 0; nl = data.indexOf(10, from)) {
      number++;
      offset += nl + 1 - from;
      const text = data.toString("utf8", from, nl > from && data[nl - 1] === 13 ? nl - 1 : nl);
      if (text.trim() !== "") lines.push({ text, number, end: offset });
      from = nl + 1;
    }
    rest = from < data.length ? data.subarray(from) : undefined;
    if (lines.length > 0) yield lines;
  }
  if (rest && rest.toString("utf8").trim() !== "") {
    const text = rest.toString("utf8").replace(/\r$/, "");
    yield [{ text, number: number + 1, end: offset + rest.length }];
  }
}

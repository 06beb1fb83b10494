import { parseEventTime } from "./event-fields";
import { LineParseError } from "./line-parse-error";
import type { ImportEvent } from "./usage-event";

const REQUIRED = ["id", "customer_id", "event_type"] as const;

/**
 * CSV with a header row naming the columns: `id`, `customer_id`, `event_type`, optionally
 * `time`; every other column is a property (a `properties.` prefix is dropped). Fields follow
 * RFC 4180 quoting ("a, b", "say ""hi"""), but one record per line: resuming works on line
 * boundaries, so a quoted field cannot hold a line break. An empty cell means the property is
 * absent.
 */
export function createCsvParser(headerLine: string): (line: string) => ImportEvent {
  const header = splitCsvLine(headerLine).map((h) => h.trim());
  const missing = REQUIRED.filter((name) => !header.includes(name));
  if (missing.length > 0) throw new LineParseError(`CSV header lacks column(s) ${missing.join(", ")}`, "invalid_header");
  const idAt = header.indexOf("id");
  const customerAt = header.indexOf("customer_id");
  const typeAt = header.indexOf("event_type");
  const timeAt = header.indexOf("time");
  const props = header.flatMap((name, at) => (at === idAt || at === customerAt || at === typeAt || at === timeAt ? [] : [{ at, name: name.replace(/^properties\./, "") }]));
  return (line) => {
    const cells = splitCsvLine(line);
    if (cells.length !== header.length) throw new LineParseError(`${cells.length} fields where the header has ${header.length}`, "invalid_csv");
    const properties: [string, string][] = [];
    for (const { at, name } of props) if (cells[at] !== "") properties.push([name, cells[at]!]);
    return {
      id: cells[idAt]!,
      customerId: cells[customerAt]!,
      eventType: cells[typeAt]!,
      timeMs: timeAt < 0 ? undefined : parseEventTime(cells[timeAt]),
      properties,
    };
  };
}

/** Splits one CSV record; the common unquoted line takes the fast path. */
export function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(",");
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let cell = "";
      i++;
      for (;;) {
        const quote = line.indexOf('"', i);
        if (quote < 0) throw new LineParseError("unterminated quoted field", "invalid_csv");
        cell += line.slice(i, quote);
        if (line[quote + 1] === '"') {
          cell += '"';
          i = quote + 2;
        } else {
          i = quote + 1;
          break;
        }
      }
      cells.push(cell);
      if (i === line.length) return cells;
      if (line[i] !== ",") throw new LineParseError(`unexpected ${JSON.stringify(line[i])} after a quoted field`, "invalid_csv");
      i++;
    } else {
      const comma = line.indexOf(",", i);
      const end = comma < 0 ? line.length : comma;
      const cell = line.slice(i, end);
      if (cell.includes('"')) throw new LineParseError("quote inside an unquoted field", "invalid_csv");
      cells.push(cell);
      if (comma < 0) return cells;
      i = comma + 1;
    }
  }
}

import Table from "cli-table3";

/** A plain table (no colours: output is often piped or pasted). */
export function renderTable(head: string[], rows: (string | number)[][]): string {
  const table = new Table({ head, style: { head: [], border: [] } });
  table.push(...rows.map((row) => row.map(String)));
  return table.toString() + "\n";
}

/** Label/value pairs of one resource, one per line. */
export function renderFields(fields: [string, string | number | undefined][]): string {
  const shown = fields.filter(([, value]) => value !== undefined && value !== "");
  const width = Math.max(0, ...shown.map(([label]) => label.length));
  return shown.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join("\n") + "\n";
}

import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { metering } from "@tally/contracts";
import { bar, sparkline } from "../format/bars";
import { maxDecimal, ratio } from "../format/ratio";
import { renderTable } from "../format/table";
import { formatTime, parseTime } from "../format/time";
import { commaList, enumChoice } from "../options";
import type { Session } from "../session";

const MINUTE = 60_000;

export function registerUsageCommand(program: Command, session: Session): void {
  program
    .command("usage <customer>")
    .description("a customer's usage of one meter, per window and group, with a bar per row (metering)")
    .requiredOption("--meter <key>", "meter to aggregate with")
    .option("--by <properties>", "comma-separated group-by properties, e.g. model", commaList)
    .option("--window <size>", "none, hour or day", enumChoice(metering.WindowSize), metering.WindowSize.DAY)
    .option("--from <time>", "range start, RFC 3339 or a span ago such as 7d (floored to the minute)", "7d")
    .option("--to <time>", "range end (default: now)")
    .option("--time-zone <iana>", "time zone day windows follow (default UTC)")
    .action(async (customerId: string, o: { meter: string; by?: string[]; window: metering.WindowSize; from: string; to?: string; timeZone?: string }) => {
      const response = await session.client("metering").queryUsage({
        customerId,
        meterKey: o.meter,
        from: timestampFromDate(floorToMinute(parseTime(o.from, "--from"))),
        ...(o.to ? { to: timestampFromDate(floorToMinute(parseTime(o.to, "--to"))) } : {}),
        windowSize: o.window,
        timeZone: o.timeZone ?? "",
        groupBy: o.by ?? [],
      });
      session.out.message(metering.QueryUsageResponseSchema, response, () => renderUsage(response.rows, o.by ?? []));
    });
}

function floorToMinute(date: Date): Date {
  return new Date(Math.floor(date.getTime() / MINUTE) * MINUTE);
}

/** One row per window and group with a bar scaled to the largest value, then a sparkline per group across windows. */
export function renderUsage(rows: metering.UsageRow[], groupBy: string[]): string {
  if (rows.length === 0) return "no usage in this range\n";
  const max = maxDecimal(rows.map((r) => r.value));
  const table = renderTable(
    ["window", ...groupBy, "value", ""],
    rows.map((r) => [formatTime(r.windowStart), ...groupBy.map((g) => r.group[g] ?? ""), r.value, bar(ratio(r.value, max))]),
  );
  const windows = [...new Set(rows.map((r) => formatTime(r.windowStart)))];
  if (windows.length < 2) return table;
  const groups = new Map<string, Map<string, string>>();
  for (const r of rows) {
    const key = groupBy.map((g) => `${g}=${r.group[g] ?? ""}`).join(" ") || "all";
    if (!groups.has(key)) groups.set(key, new Map());
    groups.get(key)!.set(formatTime(r.windowStart), r.value);
  }
  const lines = [...groups].map(([key, byWindow]) => `${key.padEnd(24)} ${sparkline(
      windows.map((w) => ratio(byWindow.get(w) ?? "0", max)),
      1, // every group on the same scale, the largest row's
    )}`);
  return `${table}\n${windows[0]} … ${windows[windows.length - 1]}\n${lines.join("\n")}\n`;
}

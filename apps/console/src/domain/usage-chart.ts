import { Decimal } from "@tally/pricing";
import type { DateRange, UsageRowRecord } from "./records";

export interface DailyUsageChart {
  /** One label per calendar day of the period in the subscription's time zone, e.g. "Dec 3". */
  days: string[];
  /** One series per group value (e.g. per model); "" when the meter has no grouping. */
  series: { group: string; values: string[] }[];
  /** Decimal string: everything in the chart. */
  total: string;
}

const dayLabel = (date: Date, timeZone: string) => new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", timeZone }).format(date);

/**
 * Daily rows from QueryUsage laid out over every day of the period (days without usage are 0),
 * one series per group value. Days are walked in 6-hour steps and de-duplicated by label, which
 * stays right across 23- and 25-hour daylight-saving days.
 */
export function dailyUsageChart(period: DateRange, rows: UsageRowRecord[], groupBy: string, timeZone: string): DailyUsageChart {
  const days: string[] = [];
  for (let t = period.start.getTime(); t < period.end.getTime(); t += 6 * 3_600_000) {
    const label = dayLabel(new Date(t), timeZone);
    if (days[days.length - 1] !== label) days.push(label);
  }
  const index = new Map(days.map((d, i) => [d, i]));
  const byGroup = new Map<string, Decimal[]>();
  let total = new Decimal(0);
  for (const row of rows) {
    const group = groupBy ? (row.group[groupBy] ?? "") : "";
    const i = index.get(dayLabel(row.windowStart, timeZone));
    if (i === undefined) continue;
    let values = byGroup.get(group);
    if (!values) byGroup.set(group, (values = days.map(() => new Decimal(0))));
    values[i] = values[i]!.plus(row.value);
    total = total.plus(row.value);
  }
  const series = [...byGroup.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([group, values]) => ({ group, values: values.map((v) => v.toFixed()) }));
  return { days, series, total: total.toFixed() };
}

import { dailyUsageChart } from "./usage-chart";

const rows = (...r: [string, string, string][]) => r.map(([start, model, value]) => ({ windowStart: new Date(start), group: { model }, value }));

test("every day of the period, one series per group, days without usage at 0", () => {
  const period = { start: new Date("2026-11-27T00:00:00Z"), end: new Date("2026-12-01T00:00:00Z") };
  const chart = dailyUsageChart(period, rows(["2026-11-27T00:00:00Z", "gpt-4o", "300"], ["2026-11-29T00:00:00Z", "mini", "250.5"], ["2026-11-30T00:00:00Z", "gpt-4o", "200"]), "model", "UTC");
  expect(chart.days).toEqual(["Nov 27", "Nov 28", "Nov 29", "Nov 30"]);
  expect(chart.series).toEqual([
    { group: "gpt-4o", values: ["300", "0", "0", "200"] },
    { group: "mini", values: ["0", "0", "250.5", "0"] },
  ]);
  expect(chart.total).toBe("750.5");
});

test("a 25-hour daylight-saving day is one day, not two", () => {
  // Europe/Berlin leaves summer time on Oct 25, 2026.
  const period = { start: new Date("2026-10-23T22:00:00Z"), end: new Date("2026-10-27T23:00:00Z") };
  const chart = dailyUsageChart(period, rows(["2026-10-24T22:00:00Z", "x", "5"]), "", "Europe/Berlin");
  expect(chart.days).toEqual(["Oct 24", "Oct 25", "Oct 26", "Oct 27"]);
  expect(chart.series).toEqual([{ group: "", values: ["0", "5", "0", "0"] }]);
});

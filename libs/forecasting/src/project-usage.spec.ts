import { Decimal } from "@tally/pricing";
import { dayGrid, type PeriodDay } from "./day-grid";
import { ForecastInputError } from "./errors";
import { forecastUsage } from "./project-usage";
import type { PastPeriod } from "./types";

const at = (iso: string) => new Date(iso);
const d = (x: number | string) => new Decimal(x);
const SAMPLES = 400;

/** December 2026 in UTC, and the three months before it, each with `perDay(day)` usage. */
const december = dayGrid(at("2026-12-01T00:00:00Z"), at("2027-01-01T00:00:00Z"), "UTC");
function months(perDay: (day: PeriodDay) => number): PastPeriod[] {
  return ["2026-09-01", "2026-10-01", "2026-11-01", "2026-12-01"].slice(0, -1).map((start, i, all) => {
    const end = all[i + 1] ?? "2026-12-01";
    const days = dayGrid(at(`${start}T00:00:00Z`), at(`${end}T00:00:00Z`), "UTC");
    return { days, usage: days.map((day) => d(perDay(day))) };
  });
}
/** A little deterministic day-to-day noise around 1 (±20 %). */
const wobble = (day: PeriodDay) => 1 + 0.2 * Math.sin(day.start.getTime() / 86_400_000);
const sum = (xs: readonly Decimal[]) => xs.reduce((s, x) => s.plus(x), d(0));

describe("forecastUsage", () => {
  it("projects a steady customer from its history on day 1 (31 days × ~100)", () => {
    const history = months((day) => 100 * wobble(day));
    const now = at("2026-12-01T12:00:00Z");
    const f = forecastUsage({ days: december, usage: [d(50)], now, history, samples: SAMPLES });
    expect(f.basis).toBe("history");
    expect(f.quantity.p50.toNumber()).toBeGreaterThan(2800);
    expect(f.quantity.p50.toNumber()).toBeLessThan(3400);
    expect(f.quantity.p10.lt(f.quantity.p50) && f.quantity.p50.lt(f.quantity.p90)).toBe(true);
  });

  it("widens a new customer's range by its own measured dispersion: bursty days, wider than steady ones of the same mean", () => {
    // Five whole days, 500 units each way: steady 100 a day, or one burst of 420 among four days of 20.
    const now = at("2026-12-06T00:00:00Z");
    const width = (usage: number[]) => {
      const f = forecastUsage({ days: december, usage: usage.map(d), now, samples: 2000 });
      expect(f.basis).toBe("observed");
      return { p10: f.quantity.p10.toNumber(), p50: f.quantity.p50.toNumber(), p90: f.quantity.p90.toNumber() };
    };
    const steady = width([100, 100, 100, 100, 100]);
    const bursty = width([20, 20, 420, 20, 20]);
    // Same rate (100 a day × 31 days ≈ 3,100 at the median, give or take the sampling).
    expect(Math.abs(steady.p50 - bursty.p50) / steady.p50).toBeLessThan(0.1);
    // CV² 0 vs 3.2, shrunk toward the prior 1.0 over 3 days: (3 × 1 + 4 × 0) ÷ 7 = 0.43 vs (3 + 4 × 3.2) ÷ 7 = 2.26.
    expect(bursty.p90 / bursty.p10).toBeGreaterThan(1.3 * (steady.p90 / steady.p10));
    // Even five identical days leave the rate uncertain (the prior's dispersion): no zero-width range.
    expect(steady.p90 / steady.p10).toBeGreaterThan(1.3);
  });

  it("does not explode two minutes into a period (the issue: 10 units → $2,818 by straight line)", () => {
    const history = months((day) => 100 * wobble(day));
    const now = at("2026-12-01T00:02:00Z");
    const f = forecastUsage({ days: december, usage: [d(10)], now, history, samples: SAMPLES });
    // Straight line: 10 ÷ (2 min / 31 days) = 223,200. History says ~3,100.
    expect(f.quantity.p90.toNumber()).toBeLessThan(4000);
    expect(f.quantity.p10.toNumber()).toBeGreaterThan(2000);
  });

  it("without any history or cohort, never extrapolates faster than per whole day", () => {
    const now = at("2026-12-01T00:02:00Z");
    const f = forecastUsage({ days: december, usage: [d(10)], now, samples: SAMPLES });
    expect(f.basis).toBe("observed");
    // 10 units over at least one day × 31 days = 310.
    expect(f.cap.eq(310)).toBe(true);
    expect(f.quantity.p90.lte(310)).toBe(true);
  });

  it("keeps projecting the customer's usage after a plan change with no usage since (the issue: projected 0)", () => {
    // 80 a day until a plan change at 10:00 on December 10; nothing since; now 10:05.
    const history = months((day) => 80 * wobble(day));
    const change = at("2026-12-10T10:00:00Z");
    const now = at("2026-12-10T10:05:00Z");
    const usage = december.slice(0, 10).map((day, i) => d(i < 9 ? Math.round(80 * wobble(day)) : Math.round(80 * (10 / 24))));
    const f = forecastUsage({ days: december, usage, now, history, levelShifts: [change], samples: SAMPLES });
    const toDate = sum(usage).toNumber();
    const remaining = f.quantity.p50.toNumber() - toDate;
    expect(remaining).toBeGreaterThan(80 * 21 * 0.7);
    expect(remaining).toBeLessThan(80 * 21 * 1.5);
    expect(f.quantity.p90.toNumber()).toBeLessThan(10 * 80 * 31);
  });

  it("learns a new level quickly after a plan change", () => {
    // 100 a day, then from December 1 (a plan change) 300 a day; now the end of December 6.
    const history = months((day) => 100 * wobble(day));
    const now = at("2026-12-07T00:00:00Z");
    const usage = december.slice(0, 6).map(() => d(300));
    const withShift = forecastUsage({ days: december, usage, now, history, levelShifts: [at("2026-12-01T00:00:00Z")], samples: SAMPLES });
    // 6 × 300 + 25 × 300 = 9,300; ignoring the change would lag toward 100 a day.
    expect(withShift.quantity.p50.toNumber()).toBeGreaterThan(8000);
    expect(withShift.quantity.p50.toNumber()).toBeLessThan(10500);
  });

  it("follows the weekday shape: weekend days add less than weekdays", () => {
    const shape = (day: PeriodDay) => (day.weekday === 0 || day.weekday === 6 ? 20 : 120);
    const history = months(shape);
    const f = forecastUsage({ days: december, usage: [], now: december[0]!.start, history, samples: SAMPLES });
    const increments = f.byDay.map((p, i) => p.p50.minus(i === 0 ? 0 : f.byDay[i - 1]!.p50).toNumber());
    // December 5 and 6, 2026 are a Saturday and a Sunday; December 7 a Monday.
    expect(december[4]!.weekday).toBe(6);
    expect(increments[4]!).toBeLessThan(50);
    expect(increments[6]!).toBeGreaterThan(80);
  });

  it("leans on the cohort for a new customer with almost no usage yet", () => {
    const cohort = { dailyRates: [40, 50, 60, 45, 55].map(d) };
    const now = at("2026-12-01T01:00:00Z");
    const f = forecastUsage({ days: december, usage: [d(0)], now, cohort, samples: SAMPLES });
    expect(f.basis).toBe("cohort");
    expect(f.quantity.p50.toNumber()).toBeGreaterThan(31 * 50 * 0.4);
    expect(f.quantity.p50.toNumber()).toBeLessThan(31 * 50 * 1.6);
    // The cap: 10 × the cohort's fastest rate over the period.
    expect(f.cap.eq(10 * 60 * 31)).toBe(true);
  });

  it("projects nothing more for a customer that has never used the component", () => {
    const f = forecastUsage({ days: december, usage: [d(0)], now: at("2026-12-01T12:00:00Z"), history: months(() => 0), samples: SAMPLES });
    expect([f.quantity.p10, f.quantity.p50, f.quantity.p90].map(String)).toEqual(["0", "0", "0"]);
  });

  it("at the period end, projects exactly what was used", () => {
    const usage = december.map(() => d("1.5"));
    const f = forecastUsage({ days: december, usage, now: at("2027-01-01T00:00:00Z"), history: months(() => 1), samples: SAMPLES });
    expect([f.quantity.p10, f.quantity.p50, f.quantity.p90].map(String)).toEqual(["46.5", "46.5", "46.5"]);
    expect(f.byDay).toEqual([]);
  });

  it("prices every sampled quantity for the amount range (a volume price is not monotone)", () => {
    const history = months((day) => 100 * wobble(day));
    // Volume: up to 3,000 units at 0.10 each, all units at 0.05 beyond: 3,000 → 300, 3,001 → 150.05.
    const volume = (q: Decimal) => (q.lte(3000) ? q.times("0.10") : q.times("0.05"));
    const f = forecastUsage({ days: december, usage: [d(50)], now: at("2026-12-01T12:00:00Z"), history, samples: SAMPLES, price: volume });
    const amount = f.amount!;
    expect(amount.amountToDate.eq(5)).toBe(true);
    expect(amount.p10.lte(amount.p50) && amount.p50.lte(amount.p90)).toBe(true);
    // The P90 amount comes from quantities just under 3,000, which price above the P90 quantity.
    expect(f.quantity.p90.gt(3000)).toBe(true);
    expect(amount.p90.gt(volume(f.quantity.p90))).toBe(true);
  });

  it("gives the price of the quantity quantiles for a price that never decreases", () => {
    const history = months((day) => 100 * wobble(day));
    const perUnit = (q: Decimal) => q.times("0.002");
    const f = forecastUsage({ days: december, usage: [d(50)], now: at("2026-12-01T12:00:00Z"), history, samples: SAMPLES, price: perUnit });
    expect(f.amount!.p10.eq(perUnit(f.quantity.p10))).toBe(true);
    expect(f.amount!.p50.eq(perUnit(f.quantity.p50))).toBe(true);
    expect(f.amount!.p90.eq(perUnit(f.quantity.p90))).toBe(true);
  });

  it("refuses usage that does not match the days started, naming the field", () => {
    const call = () => forecastUsage({ days: december, usage: [d(1), d(2)], now: at("2026-12-01T12:00:00Z") });
    expect(call).toThrow(ForecastInputError);
    expect(call).toThrow(/usage has 2 days; 1 days of the period have started/);
  });
});

/**
 * Invariants of every forecast, over random histories (levels, weekday shapes, bursts, zeros),
 * random elapsed points and random seeds.
 */
import fc from "fast-check";
import { Decimal } from "@tally/pricing";
import { dayGrid } from "./day-grid";
import { CAP_MULTIPLE, forecastUsage } from "./project-usage";
import type { Quantity, UsageForecastInput } from "./types";

const RUNS = { numRuns: 40 };
const SAMPLES = 200;
const november = dayGrid(new Date("2026-11-01T04:00:00Z"), new Date("2026-12-01T05:00:00Z"), "America/New_York");
const december = dayGrid(new Date("2026-12-01T05:00:00Z"), new Date("2027-01-01T05:00:00Z"), "America/New_York");

const dailyUsage = (length: number) => fc.array(fc.oneof(fc.constant(0), fc.double({ min: 0, max: 50, noNaN: true }), fc.double({ min: 0, max: 5000, noNaN: true })), { minLength: length, maxLength: length });

const input: fc.Arbitrary<UsageForecastInput> = fc
  .record({
    withHistory: fc.boolean(),
    past: dailyUsage(november.length),
    current: dailyUsage(december.length),
    elapsedMs: fc.integer({ min: 0, max: december[december.length - 1]!.end.getTime() - december[0]!.start.getTime() }),
    seed: fc.integer({ min: 0, max: 2 ** 31 }),
  })
  .map(({ withHistory, past, current, elapsedMs, seed }) => {
    const now = new Date(december[0]!.start.getTime() + elapsedMs);
    const started = december.filter((day) => day.start < now).length;
    const toDecimal = (x: number) => new Decimal(x.toFixed(3));
    return {
      days: december,
      usage: current.slice(0, started).map(toDecimal),
      now,
      history: withHistory ? [{ days: november, usage: past.map(toDecimal) }] : [],
      seed,
      samples: SAMPLES,
    };
  });

describe("forecastUsage properties", () => {
  it("orders its quantiles above the quantity to date, and cumulative quantities never fall day to day", () => {
    fc.assert(
      fc.property(input, (i) => {
        const f = forecastUsage(i);
        expect(f.quantityToDate.lte(f.quantity.p10)).toBe(true);
        expect(f.quantity.p10.lte(f.quantity.p50)).toBe(true);
        expect(f.quantity.p50.lte(f.quantity.p90)).toBe(true);
        let previous = f.quantityToDate;
        for (const day of f.byDay) {
          expect(day.p10.lte(day.p50) && day.p50.lte(day.p90)).toBe(true);
          expect(previous.lte(day.p50)).toBe(true);
          previous = day.p50;
        }
        if (f.byDay.length > 0) expect(f.byDay[f.byDay.length - 1]!.p50.eq(f.quantity.p50)).toBe(true);
      }),
      RUNS,
    );
  });

  it("is the same forecast for the same seed", () => {
    fc.assert(
      fc.property(input, (i) => {
        expect(forecastUsage(i)).toEqual(forecastUsage(i));
      }),
      { numRuns: 20 },
    );
  });

  it("never projects above 10 × the largest previous period unless this period's own whole-day rate says so", () => {
    fc.assert(
      fc.property(input, (i) => {
        const f = forecastUsage(i);
        const sum = (xs: readonly Quantity[]) => xs.reduce<Decimal>((s, x) => s.plus(x), new Decimal(0));
        const previousMax = Decimal.max(0, ...(i.history ?? []).map((p) => sum(p.usage)));
        const elapsedDays = (i.now.getTime() - december[0]!.start.getTime()) / 86_400_000;
        const periodDays = december.reduce((s, d) => s + d.exposure, 0);
        // The period's own rate, with elapsed time counted as at least one day (a little slack for DST-length days).
        const ownRate = sum(i.usage).div(Math.max(elapsedDays - 1 / 24, 1)).times(periodDays);
        expect(f.quantity.p90.lte(Decimal.max(previousMax.times(CAP_MULTIPLE), ownRate, f.quantityToDate))).toBe(true);
      }),
      RUNS,
    );
  });

  it("the shortcuts a caller with many customers takes change nothing: plain-number history, exact total given, quantile pricing of a price that never falls", () => {
    const graduated = (q: Decimal) => (q.lte(1000) ? q.times("0.01") : q.minus(1000).times("0.005").plus(10));
    fc.assert(
      fc.property(input, (i) => {
        const full = forecastUsage({ ...i, price: graduated });
        const quantityToDate = i.usage.reduce<Decimal>((s, x) => s.plus(x), new Decimal(0));
        const lean = forecastUsage({
          ...i,
          usage: i.usage.map((x) => (x as Decimal).toNumber()),
          history: (i.history ?? []).map((p) => ({ days: p.days, usage: p.usage.map((x) => (x as Decimal).toNumber()) })),
          quantityToDate,
          price: graduated,
          priceNeverFalls: true,
          byDay: false,
        });
        expect([lean.quantity, lean.amount, lean.basis, lean.byDay]).toEqual([full.quantity, full.amount, full.basis, []]);
      }),
      RUNS,
    );
  });
});

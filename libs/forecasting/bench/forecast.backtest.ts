/**
 * Backtest of the forecasting method — `npm run bench:forecast`. Seeded, bounded (≈ 1 min on
 * 2 cores), exits by itself. Not a test: it prints how the method does against the truth and
 * against rating's previous straight-line method, at noon of days 1, 5, 10 and 20 of a period.
 *   MAPE        mean |forecast − truth| ÷ truth over customers with usage (P50 as the point)
 *   coverage    share of customers whose truth lies in [P10, P90] (target 70–90 %)
 *   ratio       largest projection ÷ the customer's largest previous period (cap: 10 unless
 *               the period's own whole-day rate says more)
 *   CUSTOMERS=… SEED=… override the defaults (1,000 customers, seed 15).
 */
import { Decimal } from "@tally/pricing";
import { elapsedPoint, forecastUsage, type CohortPrior } from "../src/index";
import { straightLine } from "./straight-line";
import { syntheticCustomer, type SyntheticCustomer } from "./synthetic-usage";

const CUSTOMERS = Number(process.env.CUSTOMERS ?? 1000);
const SEED = Number(process.env.SEED ?? 15);
const CHECKPOINT_DAYS = [1, 5, 10, 20];
const round3 = (x: number) => Math.round(x * 1000) / 1000;

interface Tally {
  errors: number[];
  straightErrors: number[];
  covered: number;
  counted: number;
  maxRatio: number;
  maxRatioP90: number;
  aboveCapWithoutOwnRate: number;
}

/** Each plan's cohort: the average daily usage over the last whole period of its customers with history. */
function cohortsByPlan(customers: readonly SyntheticCustomer[]): Map<string, CohortPrior> {
  const cohorts = new Map<string, CohortPrior>();
  for (const c of customers) {
    const last = c.history[c.history.length - 1];
    if (!last) continue;
    const rates = (cohorts.get(c.plan)?.dailyRates ?? []) as Decimal[];
    rates.push(last.usage.reduce((s, q) => s.plus(q), new Decimal(0)).div(last.days.length));
    cohorts.set(c.plan, { dailyRates: rates });
  }
  return cohorts;
}

function run(): void {
  const started = Date.now();
  const customers = Array.from({ length: CUSTOMERS }, (_, i) => syntheticCustomer(i, SEED));
  const cohorts = cohortsByPlan(customers);
  const tallies = new Map<number, Tally>(
    CHECKPOINT_DAYS.map((d) => [d, { errors: [], straightErrors: [], covered: 0, counted: 0, maxRatio: 0, maxRatioP90: 0, aboveCapWithoutOwnRate: 0 }]),
  );
  let forecasts = 0;
  let forecastMs = 0;
  for (const customer of customers) {
    const { days } = customer.period;
    const periodStart = days[0]!.start;
    const periodEnd = days[days.length - 1]!.end;
    const truth = customer.period.usage.reduce((s, q) => s + q.toNumber(), 0);
    const previousMax = Math.max(0, ...customer.history.map((p) => p.usage.reduce((s, q) => s + q.toNumber(), 0)));
    for (const checkpoint of CHECKPOINT_DAYS) {
      const today = days[checkpoint - 1]!;
      const now = new Date((today.start.getTime() + today.end.getTime()) / 2);
      const usage = days.slice(0, checkpoint).map((day) => new Decimal(round3(customer.usageBetween(day.start, day.end < now ? day.end : now))));
      const t0 = performance.now();
      const result = forecastUsage({ days, usage, now, history: customer.history, levelShifts: customer.shifts, cohort: cohorts.get(customer.plan), seed: SEED + customer.id });
      forecastMs += performance.now() - t0;
      forecasts++;

      const changed = customer.planChange && customer.planChange < now ? customer.planChange : null;
      const segmentStart = changed ?? periodStart;
      const straight = straightLine(
        customer.usageBetween(periodStart, segmentStart),
        customer.usageBetween(segmentStart, now),
        segmentStart,
        now,
        periodEnd,
      );
      const tally = tallies.get(checkpoint)!;
      const p10 = result.quantity.p10.toNumber();
      const p50 = result.quantity.p50.toNumber();
      const p90 = result.quantity.p90.toNumber();
      tally.counted++;
      if (truth >= p10 && truth <= p90) tally.covered++;
      if (truth > 0) {
        tally.errors.push(Math.abs(p50 - truth) / truth);
        tally.straightErrors.push(Math.abs(straight - truth) / truth);
      }
      if (previousMax > 0) {
        tally.maxRatio = Math.max(tally.maxRatio, p50 / previousMax);
        tally.maxRatioP90 = Math.max(tally.maxRatioP90, p90 / previousMax);
        const { fullDays, partialDay } = elapsedPoint(days, now);
        const ownRate = (result.quantityToDate.toNumber() / Math.max(fullDays + partialDay, 1)) * days.reduce((s, d) => s + d.exposure, 0);
        if (p90 > 10 * previousMax && p90 > ownRate * (1 + 1e-9)) tally.aboveCapWithoutOwnRate++;
      }
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  console.log(`backtest: ${CUSTOMERS} customers, seed ${SEED}, forecast at noon of days ${CHECKPOINT_DAYS.join(", ")}`);
  console.log("day | MAPE method | MAPE straight line | median APE method / straight | P10–P90 coverage | max P50÷prev max | max P90÷prev max | P90 over cap w/o own rate");
  let allMet = true;
  for (const [day, t] of tallies) {
    const mape = mean(t.errors);
    const straightMape = mean(t.straightErrors);
    const coverage = t.covered / t.counted;
    allMet &&= mape < straightMape && coverage >= 0.7 && coverage <= 0.9 && t.aboveCapWithoutOwnRate === 0;
    console.log(
      `${String(day).padStart(3)} | ${pct(mape).padStart(11)} | ${pct(straightMape).padStart(18)} | ${pct(median(t.errors)).padStart(12)} / ${pct(median(t.straightErrors)).padEnd(15)} | ${pct(coverage).padStart(16)} | ${t.maxRatio.toFixed(2).padStart(16)} | ${t.maxRatioP90.toFixed(2).padStart(16)} | ${t.aboveCapWithoutOwnRate}`,
    );
  }
  console.log(`${forecasts} forecasts, ${(forecastMs / forecasts).toFixed(2)} ms each (1,000 paths); total ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(allMet ? "targets met: beats the straight line at every checkpoint, coverage 70–90 %, no P90 above the cap without its own rate" : "TARGETS NOT MET");
}

run();

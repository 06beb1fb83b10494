import { Decimal, toMaxScale } from "@tally/pricing";
import { elapsedPoint, type PeriodDay } from "./day-grid";
import { fitDampedTrend, partialStep, step, type DampedTrendFit } from "./damped-trend";
import { ForecastInputError } from "./errors";
import { deciles, nearestRank } from "./quantiles";
import { createRandom, type Random } from "./random";
import type { AmountForecast, CohortPrior, DayProjection, ForecastBasis, Quantity, UsageForecast, UsageForecastInput } from "./types";
import { estimateWeekdayShape, type WeekdayShape } from "./weekday-shape";

/** Fewer whole days of history than this and the customer's own trend is not trusted. */
export const MIN_HISTORY_DAYS = 14;
/** The sanity cap: this many times the largest previous period. */
export const CAP_MULTIPLE = 10;
const DEFAULT_SAMPLES = 1000;
const DEFAULT_SEED = 0x7a11e;
const RESIDUAL_WINDOW = 56;

/**
 * Projects a customer's end-of-period quantity for one component: P10/P50/P90 from simulated
 * daily paths over the days left. See the README for the method; in short:
 * - ≥ 14 whole days of history → damped trend × weekday shape, with errors bootstrapped from the
 *   customer's own one-step errors (bursts included), fed back through the smoothing so the level
 *   wanders as it did;
 * - fewer → a daily rate blending this period's usage with the cohort's (or this period's alone,
 *   never extrapolating faster than per whole day);
 * - every path is capped at max(10 × largest previous period, this period's own whole-day rate × days).
 */
export function forecastUsage(input: UsageForecastInput): UsageForecast {
  const { days, usage, now } = input;
  const point = elapsedPoint(days, now);
  const started = point.fullDays + (point.partialDay > 0 ? 1 : 0);
  if (usage.length !== started) {
    throw new ForecastInputError("usage", `usage has ${usage.length} days; ${started} days of the period have started by ${now.toISOString()}`);
  }
  const history = input.history ?? [];
  history.forEach((p, i) => {
    if (p.usage.length !== p.days.length) throw new ForecastInputError(`history[${i}].usage`, `has ${p.usage.length} days; its grid has ${p.days.length}`);
  });
  const samples = input.samples ?? DEFAULT_SAMPLES;
  if (!Number.isInteger(samples) || samples < 1) throw new ForecastInputError("samples", `must be a positive integer, got ${samples}`);

  const quantityToDate = input.quantityToDate ?? usage.reduce<Decimal>((s, q) => s.plus(q), new Decimal(0));
  const cap = capOf(input, quantityToDate, point.fullDays + point.partialDay);
  // The days still to come, the current one first, weighted by how much of each is left.
  const ahead = days.slice(point.fullDays).map((day, i) => ({ day, share: day.exposure * (i === 0 ? 1 - point.partialDay : 1) }));

  const series = wholeDays(input, point.fullDays);
  const random = createRandom(input.seed ?? DEFAULT_SEED);
  const partial = point.partialDay > 0 ? { usage: toNumber(usage[point.fullDays]!), share: point.partialDay * days[point.fullDays]!.exposure, weekday: days[point.fullDays]!.weekday } : null;
  const simulate = series.values.length >= MIN_HISTORY_DAYS ? historySimulator(series, partial, ahead) : rateSimulator(input, series, usage, point, ahead);
  // Day-major: the cumulative quantities of every path at the end of day h are one slice.
  const cumulative = new Float64Array(samples * ahead.length);
  const remainingCap = Math.max(cap.minus(quantityToDate).toNumber(), 0);
  const path = new Float64Array(ahead.length);
  for (let s = 0; s < samples; s++) {
    simulate.path(random, path);
    let sum = 0;
    for (let h = 0; h < path.length; h++) {
      sum += path[h]!;
      cumulative[h * samples + s] = Math.min(sum, remainingCap);
    }
  }

  const ceiling = Decimal.max(cap, quantityToDate);
  const toQuantity = (remaining: number): Decimal => Decimal.min(quantityToDate.plus(toMaxScale(new Decimal(remaining))), ceiling);
  const quantilesOf = (values: Float64Array) => {
    const { p10, p50, p90 } = deciles(values);
    return { p10: toQuantity(p10), p50: toQuantity(p50), p90: toQuantity(p90) };
  };
  const byDay: DayProjection[] =
    input.byDay === false ? [] : ahead.map(({ day }, h) => ({ end: day.end, ...quantilesOf(cumulative.slice(h * samples, (h + 1) * samples)) }));
  const totals = ahead.length === 0 ? new Float64Array(samples) : cumulative.slice((ahead.length - 1) * samples);
  return {
    quantityToDate,
    quantity: quantilesOf(totals),
    byDay,
    basis: simulate.basis,
    cap: ceiling,
    ...(input.price && {
      amount: input.priceNeverFalls
        ? priceQuantiles(quantilesOf(totals), quantityToDate, input.price)
        : priceSamples(Array.from(totals, toQuantity), quantityToDate, input.price),
    }),
  };
}

/**
 * Amount quantiles by pricing every simulated quantity and ranking the amounts, not by pricing
 * the quantity quantiles: a volume price can fall as quantity rises (1,000 units at 0.08 cost
 * less than 999 at 0.10), so the price of the P90 quantity need not be the P90 amount. For a
 * price that never decreases the two agree exactly (nearest-rank quantiles are order statistics).
 */
/**
 * For a price that never falls as quantity rises, the amount quantiles are the prices of the
 * quantity quantiles exactly (nearest-rank quantiles are order statistics, and a non-decreasing
 * function keeps their order): three prices instead of one per simulated path.
 */
function priceQuantiles(q: { p10: Decimal; p50: Decimal; p90: Decimal }, toDate: Decimal, price: (quantity: Decimal) => Decimal): AmountForecast {
  return { amountToDate: price(toDate), p10: price(q.p10), p50: price(q.p50), p90: price(q.p90) };
}

function priceSamples(quantities: readonly Decimal[], toDate: Decimal, price: (quantity: Decimal) => Decimal): AmountForecast {
  const amounts = quantities.map(price).sort((a, b) => a.cmp(b));
  return { amountToDate: price(toDate), p10: nearestRank(amounts, 0.1), p50: nearestRank(amounts, 0.5), p90: nearestRank(amounts, 0.9) };
}

interface WholeDays {
  values: number[];
  weekdays: number[];
  /** Index of the first whole day ending after the latest level shift (= values.length if none has ended yet), or null. */
  shiftIndex: number | null;
}

/** Every whole day of history then of this period, oldest first (days cut short are left out). */
function wholeDays(input: UsageForecastInput, fullDays: number): WholeDays {
  const values: number[] = [];
  const weekdays: number[] = [];
  const ends: number[] = [];
  const add = (days: readonly PeriodDay[], usage: readonly Quantity[], count: number) => {
    for (let i = 0; i < count; i++) {
      if (days[i]!.exposure < 1) continue;
      values.push(toNumber(usage[i]!));
      weekdays.push(days[i]!.weekday);
      ends.push(days[i]!.end.getTime());
    }
  };
  for (const p of input.history ?? []) add(p.days, p.usage, p.days.length);
  add(input.days, input.usage, fullDays);
  const latestShift = Math.max(-Infinity, ...(input.levelShifts ?? []).map((d) => d.getTime()).filter((t) => t <= input.now.getTime()));
  const firstAfter = ends.findIndex((end) => end > latestShift);
  const shiftIndex = latestShift === -Infinity ? null : firstAfter === -1 ? values.length : firstAfter;
  return { values, weekdays, shiftIndex };
}

/**
 * max(10 × the largest previous period (or, without one, 10 × the cohort's fastest daily rate
 * over this period's days), this period's quantity ÷ max(elapsed days, 1) × its days): "history
 * says so" means this period's own usage, at a whole-day rate at least, already runs that high.
 */
function capOf(input: UsageForecastInput, toDate: Decimal, elapsedDays: number): Decimal {
  const periodDays = new Decimal(input.days.reduce((s, d) => s + d.exposure, 0));
  // Plain sums: a sanity bound, not an amount, and history may come as plain numbers.
  const previous = (input.history ?? []).map((p) => new Decimal(p.usage.reduce<number>((s, q) => s + toNumber(q), 0)));
  const cohortRates = input.cohort?.dailyRates ?? [];
  const reference =
    previous.length > 0 ? Decimal.max(...previous) : cohortRates.length > 0 ? Decimal.max(...cohortRates).times(periodDays) : new Decimal(0);
  const ownRate = toDate.div(Math.max(elapsedDays, 1)).times(periodDays);
  return Decimal.max(reference.times(CAP_MULTIPLE), ownRate);
}

interface Ahead {
  day: PeriodDay;
  share: number;
}

interface Simulator {
  basis: ForecastBasis;
  /** Writes the usage of each day ahead along one random path (already weighted by its share) into `out`. */
  path(random: Random, out: Float64Array): void;
}

/** The day in progress: its usage so far and the share of a whole day that has passed. */
interface PartialDay {
  usage: number;
  share: number;
  weekday: number;
}

function historySimulator(series: WholeDays, partial: PartialDay | null, ahead: readonly Ahead[]): Simulator {
  const shape = estimateWeekdayShape(series.values, series.weekdays);
  const adjusted = series.values.map((v, i) => v / shape.factors[series.weekdays[i]!]!);
  const { shiftIndex } = series;
  const daysSinceShift = (index: number) => (shiftIndex !== null && index >= shiftIndex ? index - shiftIndex : null);
  const fit = fitDampedTrend(adjusted, daysSinceShift);
  if (partial) partialStep(fit.state, fit.params, partial.usage / partial.share / shape.factors[partial.weekday]!, partial.share);
  const recent = adjusted.slice(-RESIDUAL_WINDOW);
  const floor = (RELATIVE_ERROR_FLOOR * recent.reduce((a, b) => a + b, 0)) / recent.length;
  const errors = relativeErrors(series, shape, fit, floor);
  // The level is itself uncertain (it wanders, the trend may bend): one draw per path, wider for
  // noisier customers and longer horizons, so the range covers more than day-to-day noise.
  const relativeNoise = Math.min(fit.state.scale / Math.max(fit.state.level, floor, Number.MIN_VALUE), 1);
  const usual = (LEVEL_SPREAD + LEVEL_SPREAD_PER_NOISE * relativeNoise) * Math.sqrt(ahead.length / 30);
  // After a recent plan change the new level rests on few days: a plan change can move usage by a
  // factor of two either way, and each day since narrows that.
  const daysSince = shiftIndex === null ? Infinity : series.values.length - shiftIndex;
  const learning = 1 / Math.sqrt(1 / PLAN_CHANGE_LOG_SPREAD ** 2 + daysSince / DAILY_LOG_SPREAD ** 2);
  // The level rests on the days seen: with a few weeks of bursty days its own standard error
  // (CV ÷ √days, log scale) outweighs the wander above; with months of history it vanishes.
  const learned = shiftIndex === null ? adjusted : adjusted.slice(shiftIndex);
  const standardError = Math.sqrt(Math.log(1 + dailyCv2(learned.slice(-RESIDUAL_WINDOW)) / Math.max(Math.min(learned.length, RESIDUAL_WINDOW), 1)));
  const spread = Math.sqrt(usual ** 2 + learning ** 2 + standardError ** 2);
  const weights = ahead.map(({ day, share }) => shape.factors[day.weekday]! * share);
  return {
    basis: "history",
    path: (random, out) => {
      const shift = Math.exp(spread * random.normal());
      const state = { ...fit.state, level: fit.state.level * shift, trend: fit.state.trend * shift };
      for (let h = 0; h < out.length; h++) {
        const forecast = Math.max(state.level + fit.params.phi * state.trend, 0);
        const error = errors.length > 0 ? errors[random.index(errors.length)]! : 0;
        const adjustedValue = Math.max(forecast + error * Math.max(forecast, floor), 0);
        // Plain smoothing here: the uncertainty about a new level is the one draw above.
        step(state, fit.params, adjustedValue);
        out[h] = adjustedValue * weights[h]!;
      }
    },
  };
}

/**
 * Errors relative to the forecast (never to less than {@link RELATIVE_ERROR_FLOOR} of the usual
 * day, so a sparse customer's 1 after a near-0 forecast is not a ×100 event).
 */
const RELATIVE_ERROR_FLOOR = 0.5;
const LEVEL_SPREAD = 0.12;
const LEVEL_SPREAD_PER_NOISE = 0.3;

/** One-step errors of recent days, relative: the customer's own error distribution, bursts and all. */
function relativeErrors(series: WholeDays, shape: WeekdayShape, fit: DampedTrendFit, floor: number): number[] {
  const errors: number[] = [];
  const from = Math.max(7, series.values.length - RESIDUAL_WINDOW);
  for (let i = from; i < series.values.length; i++) {
    const forecast = fit.fitted[i]!;
    const denominator = Math.max(forecast, floor);
    if (denominator > 0) errors.push((series.values[i]! / shape.factors[series.weekdays[i]!]! - forecast) / denominator);
  }
  return errors;
}

/** Log-scale spread of one day's usage around its rate, assumed when there are too few days to measure it. */
const DAILY_LOG_SPREAD = 0.5;
/** How far (log scale) a plan change may move a customer's usage level, before any day on the new plan. */
const PLAN_CHANGE_LOG_SPREAD = 0.7;
/** The cohort's rate counts as this many days of the customer's own usage. */
const COHORT_PSEUDO_DAYS = 0.25;

function rateSimulator(
  input: UsageForecastInput,
  series: WholeDays,
  usage: readonly Quantity[],
  point: { fullDays: number; partialDay: number },
  ahead: readonly Ahead[],
): Simulator {
  const partial = point.partialDay > 0 ? toNumber(usage[point.fullDays]!) : 0;
  const observed = series.values.reduce((a, b) => a + b, 0) + partial;
  const exposure = series.values.length + point.partialDay * (input.days[point.fullDays]?.exposure ?? 0);
  // Day-to-day dispersion, measured on the customer's whole days and shrunk toward the assumed
  // one: bursty days and a handful of large events spread a few days' mean far wider than the
  // assumed 0.5 alone says (the month harness: 40–50 % coverage at days 5 and 10 without it).
  const cv2 = dailyCv2(series.values);
  const daily = Math.sqrt(Math.log(1 + cv2));
  // The uncertainty of the mean rate from `exposure` days, on the log scale.
  const ownVariance = exposure > 0 ? Math.log(1 + cv2 / Math.max(exposure, 1)) : Infinity;
  const prior = cohortLogRate(input.cohort);
  let logRate: number;
  let spread: number;
  let basis: ForecastBasis;
  if (prior) {
    // The cohort's typical rate counts as a quarter of a day of the customer's own usage: it
    // decides only while there is next to nothing else, and keeps a zero on day 1 from meaning 0.
    const rate = (observed + COHORT_PSEUDO_DAYS * Math.exp(prior.mean)) / (exposure + COHORT_PSEUDO_DAYS);
    logRate = rate > 0 ? Math.log(rate) : -Infinity;
    spread = 1 / Math.sqrt(1 / prior.spread ** 2 + 1 / ownVariance);
    basis = "cohort";
  } else {
    logRate = observed > 0 ? Math.log(observed / Math.max(exposure, 1)) : -Infinity;
    // Per whole day at least, as the rate: nothing seen yet is a rate of 0, not an unbounded one.
    spread = Math.sqrt(Math.log(1 + cv2 / Math.max(exposure, 1)));
    basis = "observed";
  }
  // The dispersion itself is estimated from a few days: the rate's draw is Student-t with the
  // estimate's degrees of freedom (the customer's days − 1 plus the prior's), not normal.
  const df = Math.max(series.values.length - 1, 0) + PRIOR_CV2_DAYS;
  return {
    basis,
    path: (random, out) => {
      const rate = Math.exp(logRate + spread * studentT(random, df));
      for (let h = 0; h < out.length; h++) out[h] = rate * Math.exp(daily * random.normal() - daily ** 2 / 2) * ahead[h]!.share;
    },
  };
}

/**
 * The assumed day-to-day dispersion (squared coefficient of variation of a day's usage) before
 * the customer's own days say otherwise, and its weight in days. Measured: the median customer's
 * CV² within a period is 0.41 in the backtest's synthetic customers (quartiles 0.21–1.24) and 1.29
 * in the month harness's (0.96–1.77; bursty days, few large events). 1.0 sits between them.
 */
const PRIOR_CV2 = 1;
const PRIOR_CV2_DAYS = 3;

/** A Student-t draw with `df` degrees of freedom (a normal from 30 on, where the two agree to within 4 % at P90). */
function studentT(random: Random, df: number): number {
  const z = random.normal();
  if (df >= 30) return z;
  let chi2 = 0;
  for (let i = 0; i < df; i++) chi2 += random.normal() ** 2;
  return z / Math.sqrt(chi2 / df);
}

/**
 * Squared coefficient of variation of daily usage: the sample's (n − 1 degrees of freedom) shrunk
 * toward {@link PRIOR_CV2} worth {@link PRIOR_CV2_DAYS} days, so two quiet days do not make a
 * customer look steady.
 */
function dailyCv2(values: readonly number[]): number {
  const n = values.length;
  const mean = n > 0 ? values.reduce((a, b) => a + b, 0) / n : 0;
  const own = n > 1 && mean > 0 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) / mean ** 2 : PRIOR_CV2;
  const df = Math.max(n - 1, 0);
  return (PRIOR_CV2_DAYS * PRIOR_CV2 + df * own) / (PRIOR_CV2_DAYS + df);
}

function cohortLogRate(cohort: CohortPrior | undefined): { mean: number; spread: number } | null {
  const rates = (cohort?.dailyRates ?? []).map((r) => r.toNumber()).filter((r) => r > 0);
  if (rates.length === 0) return null;
  const logs = rates.map(Math.log);
  const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
  const variance = logs.reduce((a, b) => a + (b - mean) ** 2, 0) / logs.length;
  return { mean, spread: Math.max(Math.sqrt(variance), 0.25) };
}

function toNumber(q: Quantity): number {
  return typeof q === "number" ? q : q.toNumber();
}

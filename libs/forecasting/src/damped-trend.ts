/**
 * Damped-trend exponential smoothing (Holt with damping, Gardner & McKenzie) on weekday-adjusted
 * daily usage — the non-seasonal half of Holt-Winters; the weekly half is {@link WeekdayShape},
 * estimated separately because it is far steadier than the level. Parameters are chosen per
 * customer by a small grid search minimising the absolute error of each day's forecast of the
 * next seven days' total (a one-step loss picked parameters that did worse in the backtest). Robust to bursts as in
 * Gelper, Fried & Croux (2010): an error beyond {@link CLIP} times the running mean absolute error
 * moves the level and trend only as far as that bound, so a spike on the last day of history does
 * not become next month's level or trend. Plain numbers: this is estimation, not money.
 */
export interface DampedTrendParams {
  alpha: number;
  /** Trend smoothing as a share of alpha (β = alpha · betaShare). */
  betaShare: number;
  phi: number;
}

export interface DampedTrendState {
  level: number;
  trend: number;
  /** Running mean absolute one-step error: the yardstick for "unusually far". */
  scale: number;
}

export interface DampedTrendFit {
  params: DampedTrendParams;
  state: DampedTrendState;
  /** One-step forecasts for each input day (the value predicted before seeing it). */
  fitted: number[];
}

const ALPHAS = [0.03, 0.08, 0.15, 0.25, 0.4, 0.6];
const BETA_SHARES = [0, 0.05, 0.15];
const PHIS = [0.8, 0.9, 0.95];
const BURN_IN = 7;
/** Parameters are judged by their forecasts of the next week's total, the kind of question asked of them. */
const LOSS_DAYS = 7;
const CLIP = 2.5;
const SCALE_SMOOTHING = 0.1;

/**
 * Days since a known level shift (a plan change), for each day: the smoothing then learns fast —
 * gain 1/(k+2) on the k-th day after it, a running mean of the new days with the old level
 * worth one day — and does not clip, since the shift is real; it returns to alpha after.
 */
export type DaysSinceShift = (index: number) => number | null;

/** Next state after observing `value`; returns the forecast that was made for it. */
export function step(state: DampedTrendState, params: DampedTrendParams, value: number, daysSinceShift: number | null = null): number {
  const forecast = Math.max(state.level + params.phi * state.trend, 0);
  const learning = daysSinceShift !== null && 1 / (daysSinceShift + 2) > params.alpha;
  if (learning && daysSinceShift === 0) state.trend = 0;
  const bound = learning ? Infinity : CLIP * state.scale;
  const error = Math.min(Math.max(value - forecast, -bound), bound);
  const gain = learning ? 1 / (daysSinceShift! + 2) : params.alpha;
  state.level = Math.max(forecast + gain * error, 0);
  if (learning) return forecast;
  state.trend = params.phi * state.trend + params.alpha * params.betaShare * error;
  state.scale = (1 - SCALE_SMOOTHING) * state.scale + SCALE_SMOOTHING * Math.abs(error);
  return forecast;
}

function initialState(values: readonly number[]): DampedTrendState {
  const head = values.slice(0, BURN_IN);
  const level = head.reduce((a, b) => a + b, 0) / Math.max(head.length, 1);
  const deviation = head.reduce((a, b) => a + Math.abs(b - level), 0) / Math.max(head.length, 1);
  return { level, trend: 0, scale: Math.max(deviation, 0.1 * level, Number.MIN_VALUE) };
}

/**
 * Learns from part of a day (the one in progress): moves the level by the error times alpha
 * times the share of the day seen, without advancing time or the trend.
 */
export function partialStep(state: DampedTrendState, params: DampedTrendParams, value: number, share: number): void {
  const bound = CLIP * state.scale;
  const error = Math.min(Math.max(value - Math.max(state.level + params.phi * state.trend, 0), -bound), bound);
  state.level = Math.max(state.level + params.alpha * share * error, 0);
}

/**
 * One pass of the smoothing over `values`: the loss of its next-week forecasts and the final
 * state; the one-step forecasts too when `fitted` is given (only the chosen parameters need them).
 */
function run(values: readonly number[], prefix: Float64Array, params: DampedTrendParams, shifts: readonly (number | null)[], fitted?: number[]): { loss: number; state: DampedTrendState } {
  const state = initialState(values);
  let loss = 0;
  for (let i = 0; i < values.length; i++) {
    const since = shifts[i]!;
    const learning = since !== null && 1 / (since + 2) > params.alpha;
    if (i >= BURN_IN && !learning && i + LOSS_DAYS <= values.length) {
      let sum = 0;
      let damping = 0;
      for (let h = 1, power = params.phi; h <= LOSS_DAYS; h++, power *= params.phi) {
        damping += power;
        sum += Math.max(state.level + damping * state.trend, 0);
      }
      loss += Math.abs(prefix[i + LOSS_DAYS]! - prefix[i]! - sum);
    }
    const forecast = step(state, params, values[i]!, since);
    if (fitted) fitted.push(forecast);
  }
  return { loss, state };
}

export function fitDampedTrend(values: readonly number[], shifts: DaysSinceShift = () => null): DampedTrendFit {
  // What every candidate shares, computed once: running sums for the loss, days since a shift.
  const prefix = new Float64Array(values.length + 1);
  values.forEach((v, i) => (prefix[i + 1] = prefix[i]! + v));
  const since = values.map((_, i) => shifts(i));
  let best: DampedTrendParams | undefined;
  let bestLoss = Infinity;
  for (const alpha of ALPHAS) {
    for (const betaShare of BETA_SHARES) {
      for (const phi of betaShare === 0 ? [0.9] : PHIS) {
        const params = { alpha, betaShare, phi };
        const { loss } = run(values, prefix, params, since);
        if (loss < bestLoss) {
          bestLoss = loss;
          best = params;
        }
      }
    }
  }
  const fitted: number[] = [];
  const { state } = run(values, prefix, best!, since, fitted);
  return { params: best!, state, fitted };
}

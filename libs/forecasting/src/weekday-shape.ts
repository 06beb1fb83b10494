/**
 * Weekly seasonality: how much of an average day's usage each weekday carries (a business API
 * customer might run 1.3 on weekdays and 0.25 at weekends). Estimated from the last eight weeks,
 * with bursts clipped so one spike does not make "Tuesday" expensive forever, and each weekday
 * shrunk toward 1 by three pseudo-weeks so two weeks of data cannot invent a strong shape.
 */
const WINDOW_DAYS = 56;
const SHRINK_WEEKS = 3;
const FLOOR = 0.05;

export interface WeekdayShape {
  /** Multiplier per weekday (0 = Sunday), averaging 1. */
  factors: number[];
}

export function estimateWeekdayShape(values: readonly number[], weekdays: readonly number[]): WeekdayShape {
  const from = Math.max(0, values.length - WINDOW_DAYS);
  const recent = values.slice(from);
  const burstCeiling = burstCeilingOf(recent);
  const sums = new Array<number>(7).fill(0);
  const counts = new Array<number>(7).fill(0);
  recent.forEach((v, i) => {
    const w = weekdays[from + i]!;
    sums[w]! += Math.min(v, burstCeiling);
    counts[w]! += 1;
  });
  const total = sums.reduce((a, b) => a + b, 0);
  const n = counts.reduce((a, b) => a + b, 0);
  if (total <= 0 || n === 0) return { factors: new Array<number>(7).fill(1) };
  const mean = total / n;
  const raw = sums.map((s, w) => (counts[w]! > 0 ? s / counts[w]! / mean : 1));
  const shrunk = raw.map((r, w) => Math.max(FLOOR, (counts[w]! * r + SHRINK_WEEKS) / (counts[w]! + SHRINK_WEEKS)));
  const average = shrunk.reduce((a, b) => a + b, 0) / 7;
  return { factors: shrunk.map((f) => f / average) };
}

/** Days above this are bursts: four times the typical day (the median, or half the mean for sparse usage where the median is 0). */
function burstCeilingOf(values: readonly number[]): number {
  if (values.length === 0) return Infinity;
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const typical = Math.max(median, mean / 2);
  return typical > 0 ? 4 * typical : Infinity;
}

/**
 * Nearest-rank quantile of ascending `sorted` values: the ⌈q·n⌉-th smallest. An order statistic,
 * never an interpolation, so the amount quantile of a monotone price is exactly the price of the
 * quantity quantile, and every quantile is one of the simulated outcomes.
 */
export function nearestRank<T>(sorted: readonly T[] | Float64Array, q: number): T {
  const n = sorted.length;
  const index = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
  return sorted[index] as T;
}

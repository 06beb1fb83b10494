/** Rank (0-based) of the nearest-rank q-quantile among n values: the ⌈q·n⌉-th smallest. */
function rankOf(q: number, n: number): number {
  return Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
}

/**
 * Nearest-rank quantile of ascending `sorted` values. An order statistic, never an
 * interpolation, so the amount quantile of a monotone price is exactly the price of the quantity
 * quantile, and every quantile is one of the simulated outcomes.
 */
export function nearestRank<T>(sorted: readonly T[], q: number): T {
  return sorted[rankOf(q, sorted.length)]!;
}

/**
 * The nearest-rank P10, P50 and P90 of `values` (reordered in place) by selection rather than a
 * full sort: the forecast takes them for every remaining day of every path set.
 */
export function deciles(values: Float64Array): { p10: number; p50: number; p90: number } {
  const n = values.length;
  return { p10: select(values, rankOf(0.1, n)), p50: select(values, rankOf(0.5, n)), p90: select(values, rankOf(0.9, n)) };
}

/** The k-th smallest value (Hoare's quickselect, middle pivot); leaves `values` partitioned around it. */
function select(values: Float64Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  while (lo < hi) {
    const pivot = values[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return values[k]!;
  }
  return values[k]!;
}

/**
 * Rating's method before this library (apps/rating/src/domain/forecast.ts), in quantity terms:
 * earlier plan segments count as used; the current segment's quantity is divided by the share of
 * the rest of the period (from the segment start) that has elapsed.
 */
export function straightLine(earlierSegments: number, currentSegment: number, segmentStart: Date, now: Date, periodEnd: Date): number {
  const span = periodEnd.getTime() - segmentStart.getTime();
  const fraction = Math.min(Math.max(now.getTime() - segmentStart.getTime(), 0), span) / span;
  return earlierSegments + (fraction > 0 ? currentSegment / fraction : 0);
}

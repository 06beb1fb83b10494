const DAY_MS = 24 * 3600 * 1000;

/**
 * When the retry after a failed attempt is due. `scheduleDays` are offsets from the first
 * attempt (e.g. 1,3,5,7: retries one, three, five and seven days after it), so a retry that
 * ran late does not push the later ones back. Undefined: the schedule is exhausted.
 */
export function nextRetryTime(scheduleDays: readonly number[], firstAttemptTime: Date, failedAttemptNumber: number): Date | undefined {
  const offset = scheduleDays[failedAttemptNumber - 1];
  return offset === undefined ? undefined : new Date(firstAttemptTime.getTime() + offset * DAY_MS);
}

export function parseSchedule(raw: string): number[] {
  const days = raw.split(",").map((d) => d.trim());
  if (days.some((d) => !/^\d+(\.\d+)?$/.test(d))) throw new Error(`must be comma-separated day offsets, e.g. "1,3,5,7", got "${raw}"`);
  const numbers = days.map(Number);
  if (numbers.some((d, i) => i > 0 && d <= numbers[i - 1]!)) throw new Error(`offsets must increase, got "${raw}"`);
  return numbers;
}

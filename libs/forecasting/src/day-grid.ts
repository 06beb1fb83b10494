import { addDays, atLocalTime, localDateOf, localTimeOfDay, weekdayOf } from "@tally/calendar";
import { ForecastInputError } from "./errors";

/**
 * One "day" of a billing period as the customer lives it: from the period's local start time on
 * one date to the same local time on the next (local midnight for calendar periods), so DST days
 * are 23 or 25 hours long. Only the last day can be cut short by the period end.
 */
export interface PeriodDay {
  start: Date;
  end: Date;
  /** Local weekday of `start`: 0 = Sunday … 6 = Saturday. */
  weekday: number;
  /** Share of a whole day this one covers: 1, or less for a last day cut by the period end. */
  exposure: number;
}

/** The days of the period `[start, end)` in `timeZone`. */
export function dayGrid(start: Date, end: Date, timeZone: string): PeriodDay[] {
  if (!(end.getTime() > start.getTime())) {
    throw new ForecastInputError("period", `period end ${end.toISOString()} must be after its start ${start.toISOString()}`);
  }
  const timeOfDay = localTimeOfDay(start, timeZone);
  const firstDate = localDateOf(start, timeZone);
  const days: PeriodDay[] = [];
  for (let i = 0, dayStart = start; dayStart < end; i++) {
    const fullEnd = atLocalTime(addDays(firstDate, i + 1), timeZone, timeOfDay);
    const dayEnd = fullEnd < end ? fullEnd : end;
    const exposure = (dayEnd.getTime() - dayStart.getTime()) / (fullEnd.getTime() - dayStart.getTime());
    days.push({ start: dayStart, end: dayEnd, weekday: weekdayOf(addDays(firstDate, i)), exposure });
    dayStart = dayEnd;
  }
  return days;
}

/** Where `now` stands in a grid: how many days are over, and how much of the current one has passed. */
export interface ElapsedPoint {
  /** Days wholly before `now`. */
  fullDays: number;
  /** Share of day `fullDays` already passed (0 when `now` is on a day boundary or past the end). */
  partialDay: number;
}

export function elapsedPoint(days: readonly PeriodDay[], now: Date): ElapsedPoint {
  const t = now.getTime();
  const fullDays = days.filter((d) => d.end.getTime() <= t).length;
  const current = days[fullDays];
  if (!current || t <= current.start.getTime()) return { fullDays, partialDay: 0 };
  return { fullDays, partialDay: (t - current.start.getTime()) / (current.end.getTime() - current.start.getTime()) };
}

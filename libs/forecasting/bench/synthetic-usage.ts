/**
 * Seeded synthetic customers for the backtest: monthly calendar periods in several time zones,
 * a growth trend, a level that wanders, a weekday shape, day-to-day noise, bursts, sparse
 * integer-count customers, new customers without history, and plan changes that move the level
 * at an instant inside the tested period (or an earlier one). Each customer is on the plan made
 * for its volume, which gives new customers a cohort.
 */
import { Decimal } from "@tally/pricing";
import { dayGrid, type PeriodDay } from "../src/index";
import { createRandom, type Random } from "../src/random";
import { atLocalTime } from "@tally/calendar";

export interface SyntheticPeriod {
  days: PeriodDay[];
  usage: Decimal[];
}

export interface SyntheticCustomer {
  id: number;
  /** Customers pick the plan made for their volume: one plan per decade of daily usage, "starter" for sparse use. */
  plan: string;
  history: SyntheticPeriod[];
  /** The tested period with every day's usage (the truth). */
  period: SyntheticPeriod;
  /** Plan change inside the tested period: the instant, and the day usage per millisecond changes. */
  planChange: Date | null;
  /** Every plan change, in the history or the tested period. */
  shifts: Date[];
  /** Usage of the tested period between `from` and `to` (uniform within a day, as generated). */
  usageBetween(from: Date, to: Date): number;
}

const ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Tokyo", "Australia/Sydney"];

function monthBoundaries(year: number, month: number, count: number, timeZone: string): Date[] {
  return Array.from({ length: count + 1 }, (_, i) => {
    const m = month - 1 + i;
    return atLocalTime({ year: year + Math.floor(m / 12), month: (m % 12) + 1, day: 1 }, timeZone);
  });
}

function weekdayShape(random: Random): number[] {
  const kind = random.next();
  const shape =
    kind < 0.4
      ? [0.3, 1.2, 1.25, 1.2, 1.15, 1.1, 0.35] // business: quiet weekends
      : kind < 0.7
        ? [1, 1, 1, 1, 1, 1, 1]
        : Array.from({ length: 7 }, () => Math.exp(0.3 * random.normal()));
  const mean = shape.reduce((a, b) => a + b, 0) / 7;
  return shape.map((f) => f / mean);
}

function poisson(random: Random, mean: number): number {
  if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * random.normal()));
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = random.next(); p > limit; p *= random.next()) k++;
  return k;
}

export function syntheticCustomer(id: number, seed: number): SyntheticCustomer {
  const random = createRandom(seed + id * 7919);
  const timeZone = ZONES[random.index(ZONES.length)]!;
  const testMonth = 4 + random.index(9); // April … December 2026
  const historyCount = random.next() < 0.1 ? 0 : random.next() < 0.1 ? 1 : 3;
  const bounds = monthBoundaries(2026, testMonth - historyCount, historyCount + 1, timeZone);
  const periods = bounds.slice(0, -1).map((start, i) => dayGrid(start, bounds[i + 1]!, timeZone));

  const sparse = random.next() < 0.15;
  const base = sparse ? 0.2 + 3 * random.next() : Math.exp(Math.log(200) + 1.5 * random.normal());
  const growth = 0.004 * random.normal() + 0.002; // per day: about ±12 % a month
  const wander = 0.03 * random.next();
  const noise = 0.1 + 0.4 * random.next();
  const burstChance = 0.04 * random.next();
  const shape = weekdayShape(random);

  // One plan change for a quarter of customers, somewhere in the history or the tested period.
  const allDays = periods.flat();
  const changeAt =
    random.next() < 0.25 ? allDays[Math.floor(allDays.length * (1 - random.next() * Math.min(1, 40 / allDays.length)))]! : null;
  const changeInstant = changeAt ? new Date(changeAt.start.getTime() + random.next() * (changeAt.end.getTime() - changeAt.start.getTime())) : null;
  const changeFactor = random.next() < 0.7 ? 1.3 + 1.7 * random.next() : 0.3 + 0.5 * random.next();

  let walk = 0;
  const usageOf = (day: PeriodDay, t: number): number => {
    walk += wander * random.normal();
    let level = base * Math.exp(growth * t + walk) * shape[day.weekday]! * day.exposure;
    if (changeInstant && day.end > changeInstant) {
      const after = Math.min(1, (day.end.getTime() - changeInstant.getTime()) / (day.end.getTime() - day.start.getTime()));
      level *= 1 - after + after * changeFactor;
    }
    if (random.next() < burstChance) level *= 3 + 9 * random.next();
    const value = sparse ? poisson(random, level) : level * Math.exp(noise * random.normal() - noise ** 2 / 2);
    return Math.round(value * 1000) / 1000;
  };
  let t = 0;
  const generated = periods.map((days) => ({ days, usage: days.map((day) => usageOf(day, t++)) }));
  const tested = generated[generated.length - 1]!;
  const planChange = changeInstant && changeInstant >= tested.days[0]!.start ? changeInstant : null;
  const toDecimals = (p: { days: PeriodDay[]; usage: number[] }): SyntheticPeriod => ({ days: p.days, usage: p.usage.map((u) => new Decimal(u)) });
  return {
    id,
    plan: sparse ? "starter" : `volume-${Math.floor(Math.log10(base))}`,
    history: generated.slice(0, -1).map(toDecimals),
    period: toDecimals(tested),
    planChange,
    shifts: changeInstant ? [changeInstant] : [],
    usageBetween(from, to) {
      let sum = 0;
      tested.days.forEach((day, i) => {
        const a = Math.max(from.getTime(), day.start.getTime());
        const b = Math.min(to.getTime(), day.end.getTime());
        if (b > a) sum += (tested.usage[i]! * (b - a)) / (day.end.getTime() - day.start.getTime());
      });
      return sum;
    },
  };
}

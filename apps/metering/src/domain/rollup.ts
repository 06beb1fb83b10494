import type { Decimal } from "@tally/pricing";
import { MINUTE_MS } from "./limits";
import type { Reading } from "./reading";
import { compareCodePoints } from "./text";

/**
 * Pre-aggregated usage: per meter, customer, one-minute bucket (by event time) and combination
 * of group values. QueryUsage answers from these (≤ 44,640 buckets per group for a month)
 * instead of scanning raw events. Rollups of one batch are summed in memory first, so a batch
 * of thousands of events touches each bucket row once.
 */
export interface RollupDelta {
  meterKey: string;
  customerId: string;
  bucketStart: Date;
  /** Canonical JSON array of the group values, in the meter's group_by order; "[]" without group_by. */
  groupKey: string;
  eventCount: number;
  /** SUM meters. */
  valueSum: Decimal | undefined;
  /** MAX meters. */
  valueMax: Decimal | undefined;
  /** LATEST meters: the reading with the greatest (event time, record time, event id). */
  latest: LatestReading | undefined;
}

export interface LatestReading {
  time: Date;
  recordTime: Date;
  eventId: string;
  value: Decimal;
}

/** UNIQUE_COUNT meters: each distinct value seen per bucket and group. */
export interface UniqueValue {
  meterKey: string;
  customerId: string;
  bucketStart: Date;
  groupKey: string;
  value: string;
}

export interface ReadEvent {
  id: string;
  customerId: string;
  time: Date;
  readings: readonly Reading[];
}

export function bucketOf(time: Date): Date {
  return new Date(Math.floor(time.getTime() / MINUTE_MS) * MINUTE_MS);
}

/** Orders readings by (event time, record time, event id): the LATEST tie-break, same as the SQL. */
export function isLater(a: LatestReading, b: LatestReading): boolean {
  const t = a.time.getTime() - b.time.getTime();
  if (t !== 0) return t > 0;
  const r = a.recordTime.getTime() - b.recordTime.getTime();
  if (r !== 0) return r > 0;
  return compareCodePoints(a.eventId, b.eventId) > 0;
}

/** Sums the readings of many events into one delta per rollup row. */
export class RollupAccumulator {
  private readonly deltas = new Map<string, RollupDelta>();
  private readonly uniques = new Map<string, UniqueValue>();

  /** Adds an event's readings; `recordTime` is when it was recorded (LATEST's tie-break). */
  add(event: ReadEvent, recordTime: Date): void {
    if (event.readings.length === 0) return;
    const bucketStart = bucketOf(event.time);
    const bucketMs = bucketStart.getTime();
    for (const reading of event.readings) {
      const groupKey = reading.groupValues.length === 0 ? "[]" : JSON.stringify(reading.groupValues);
      const key = `${reading.meterKey}\u0000${event.customerId}\u0000${bucketMs}\u0000${groupKey}`;
      let delta = this.deltas.get(key);
      if (!delta) {
        delta = { meterKey: reading.meterKey, customerId: event.customerId, bucketStart, groupKey, eventCount: 0, valueSum: undefined, valueMax: undefined, latest: undefined };
        this.deltas.set(key, delta);
      }
      delta.eventCount++;
      switch (reading.aggregation) {
        case "count":
          break;
        case "sum":
          delta.valueSum = delta.valueSum ? delta.valueSum.plus(reading.decimal!) : reading.decimal!;
          break;
        case "max":
          if (!delta.valueMax || reading.decimal!.gt(delta.valueMax)) delta.valueMax = reading.decimal!;
          break;
        case "latest": {
          const candidate = { time: event.time, recordTime, eventId: event.id, value: reading.decimal! };
          if (!delta.latest || isLater(candidate, delta.latest)) delta.latest = candidate;
          break;
        }
        case "unique_count": {
          const uniqueKey = `${key}\u0000${reading.value}`;
          if (!this.uniques.has(uniqueKey)) {
            this.uniques.set(uniqueKey, { meterKey: reading.meterKey, customerId: event.customerId, bucketStart, groupKey, value: reading.value });
          }
          break;
        }
      }
    }
  }

  /** Rows held in memory (rollup deltas and unique values). */
  get size(): number {
    return this.deltas.size + this.uniques.size;
  }

  /**
   * The deltas in one total order (meter, customer, bucket, group). Every transaction upserts
   * rows in this order, so concurrent flushes touching the same rows wait, never deadlock.
   */
  rollups(): RollupDelta[] {
    return [...this.deltas.values()].sort(compareRows);
  }

  uniqueValues(): UniqueValue[] {
    return [...this.uniques.values()].sort((a, b) => compareRows(a, b) || compareStrings(a.value, b.value));
  }

  clear(): void {
    this.deltas.clear();
    this.uniques.clear();
  }
}

function compareRows(a: { meterKey: string; customerId: string; bucketStart: Date; groupKey: string }, b: typeof a): number {
  return (
    compareStrings(a.meterKey, b.meterKey) ||
    compareStrings(a.customerId, b.customerId) ||
    a.bucketStart.getTime() - b.bucketStart.getTime() ||
    compareStrings(a.groupKey, b.groupKey)
  );
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

import type { Clock, Pool } from "@tally/platform";
import { pgErrorCode } from "@tally/platform";
import { Decimal, MAX_INTEGER_DIGITS, toWire } from "@tally/pricing";
import { findMeter } from "../adapter/meter-store";
import { countedEventsIn } from "../adapter/partial-minute-events";
import { queryUsage, type EdgeRollups } from "../adapter/usage-query-store";
import { AggregateOutOfRangeError, invalidArgument, MeterNotFoundError } from "../domain/errors";
import type { Meter } from "../domain/meter";
import { readEvent } from "../domain/reading";
import { RollupAccumulator } from "../domain/rollup";
import { checkQueryGroupBy, splitAtWholeMinutes, validateUsageQuery, type RangeSplit, type UsageQuery, type UsageQueryInput } from "../domain/usage-query";
import { quote } from "../domain/violation";
import type { RollupFolder } from "./rollup-folder";

export interface UsageRow {
  windowStart: Date;
  windowEnd: Date;
  group: Record<string, string>;
  /** Canonical decimal string. */
  value: string;
}

const PG_INVALID_PARAMETER_VALUE = "22023";

/**
 * QueryUsage: exact aggregates of one meter for one customer, from the per-minute rollups (once
 * the pending ones are folded), and
 * from raw events for a partial minute at either edge of the range.
 */
export class QueryService {
  /** `backfillMs`: the window a new meter backfills, which decides the events it has counted. */
  constructor(private readonly options: { pool: Pool; clock: Clock; backfillMs: number; rollups?: RollupFolder }) {}

  async query(input: UsageQueryInput): Promise<UsageRow[]> {
    const validation = validateUsageQuery(input, this.options.clock.now());
    if (!validation.ok) throw invalidArgument(validation.violations);
    const { query } = validation;
    const meter = await findMeter(this.options.pool, query.meterKey);
    if (!meter) throw new MeterNotFoundError(query.meterKey);
    const groupProblems = checkQueryGroupBy(query, meter);
    if (groupProblems.length > 0) throw invalidArgument(groupProblems);
    // Ingest leaves rollups pending (RollupFolder): fold them first, so the answer counts every
    // event acknowledged before the query.
    await this.options.rollups?.foldPending();
    try {
      const split = splitAtWholeMinutes(query.from, query.to);
      const rows = await queryUsage(this.options.pool, query, meter, split, await this.edgeRollups(query, meter, split));
      return rows.map((row) => ({ ...row, value: aggregateToWire(row.value, row.windowStart) }));
    } catch (err) {
      // Postgres's zone database may lack a zone the JavaScript runtime knows.
      if (pgErrorCode(err) === PG_INVALID_PARAMETER_VALUE && query.windowSize === "day") {
        throw invalidArgument([{ field: "time_zone", code: "unknown_time_zone", message: `time_zone ${quote(query.timeZone)} is not known to storage` }]);
      }
      throw err;
    }
  }

  /**
   * The partial edge minutes' raw events read by the meter through readEvent, as ingest reads
   * them, and summed into rollup rows by the accumulator ingest uses. An event a meter could not
   * read was refused at ingest or failed the backfill, so none is counted here either.
   */
  private async edgeRollups(query: UsageQuery, meter: Meter, split: RangeSplit): Promise<EdgeRollups> {
    const events = await countedEventsIn(this.options.pool, meter, query.customerId, split.partialEdges, this.options.backfillMs);
    const accumulator = new RollupAccumulator();
    for (const event of events) {
      const { readings, violations } = readEvent(event.properties, [meter], "event");
      if (violations.length === 0) accumulator.add({ id: event.id, customerId: event.customerId, time: event.time, readings }, event.recordTime);
    }
    return { rollups: accumulator.rollups(), uniqueValues: accumulator.uniqueValues() };
  }
}

/**
 * An aggregate as a decimal string within the convention of proto/README.md: at most 12 decimal
 * places (readings have at most 12, so SUM/MAX/LATEST do too) and 38 significant digits, i.e. at
 * most 26 integer digits — otherwise AggregateOutOfRangeError, never a rounded or longer value.
 */
function aggregateToWire(value: string, windowStart: Date): string {
  const d = new Decimal(value);
  const integerDigits = d.abs().lt(1) ? 0 : d.abs().trunc().toFixed().length;
  if (integerDigits > MAX_INTEGER_DIGITS) throw new AggregateOutOfRangeError(windowStart, integerDigits);
  return toWire(d);
}

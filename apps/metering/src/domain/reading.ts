import { DecimalFormatError, parseDecimal, toWire, type Decimal, type DecimalFormatCode } from "@tally/pricing";
import { passesFilters, type AggregationKind, type MeterSpec } from "./meter";
import { quote, type Violation, type ViolationCode } from "./violation";

/**
 * One event's contribution to one meter: what ingest aggregates into rollups, what
 * UsageRecorded carries to consumers (MeterReading) and what a new meter backfills from
 * stored events. Computed by {@link readEvent} only, so all three agree.
 */
export interface Reading {
  meterKey: string;
  aggregation: AggregationKind;
  /** "1" for COUNT, the canonical decimal for SUM/MAX/LATEST, the raw property for UNIQUE_COUNT. */
  value: string;
  /** The parsed value for SUM, MAX and LATEST. */
  decimal: Decimal | undefined;
  /** The meter's group_by properties, in order, with this event's values ("" when absent). */
  groupBy: readonly string[];
  groupValues: string[];
}

export interface EventReading {
  readings: Reading[];
  /** Why the event cannot be read by a meter it matches (missing or non-decimal value). */
  violations: readonly Violation[];
}

const ONE = "1";
const NO_GROUP: string[] = [];
/** Integers already in canonical form ("0", "1532", "-7"): `toWire` would return them unchanged. */
const CANONICAL_INTEGER = /^(0|-?[1-9][0-9]*)$/;

/**
 * Reads an event's properties with every meter it matches (same event type is the caller's
 * business; this checks the filters). A meter that must sum, max or take the latest of a value
 * requires the property to be present and a decimal within NUMERIC(38,12), non-negative unless
 * the meter allows negatives: there is no silent zero. `path` prefixes field names, e.g.
 * "events[3]" gives "events[3].properties[tokens]".
 *
 * This runs for every event at ingest: strings for field names and messages are only built
 * when there is something to report.
 */
export function readEvent(properties: Readonly<Record<string, string>>, meters: readonly MeterSpec[], path: string): EventReading {
  const readings: Reading[] = [];
  let violations: Violation[] | undefined;
  const fail = (meter: MeterSpec, code: ViolationCode, problem: string) => {
    const field = `${path}.properties[${meter.valueProperty}]`;
    violations ??= [];
    // Two meters reading the same property report it once.
    if (violations.some((v) => v.field === field && v.code === code)) return;
    violations.push({ field, code, message: `${problem}, required by meter ${quote(meter.key)} (${meter.aggregation.toUpperCase()})` });
  };

  for (const meter of meters) {
    if (meter.filters.length > 0 && !passesFilters(meter, properties)) continue;
    const groupValues = meter.groupBy.length === 0 ? NO_GROUP : meter.groupBy.map((property) => properties[property] ?? "");
    if (meter.aggregation === "count") {
      readings.push({ meterKey: meter.key, aggregation: "count", value: ONE, decimal: undefined, groupBy: meter.groupBy, groupValues });
      continue;
    }
    const raw = properties[meter.valueProperty];
    if (raw === undefined) {
      fail(meter, "required", `property ${quote(meter.valueProperty)} is missing`);
      continue;
    }
    if (meter.aggregation === "unique_count") {
      readings.push({ meterKey: meter.key, aggregation: "unique_count", value: raw, decimal: undefined, groupBy: meter.groupBy, groupValues });
      continue;
    }
    let decimal: Decimal;
    try {
      decimal = parseDecimal(raw, meter.valueProperty, { nonNegative: !meter.allowNegative });
    } catch (err) {
      if (!(err instanceof DecimalFormatError)) throw err;
      fail(meter, DECIMAL_CODES[err.code], `${quote(raw)} ${DECIMAL_PROBLEMS[err.code]}`);
      continue;
    }
    const value = CANONICAL_INTEGER.test(raw) ? raw : toWire(decimal);
    readings.push({ meterKey: meter.key, aggregation: meter.aggregation, value, decimal, groupBy: meter.groupBy, groupValues });
  }
  return { readings, violations: violations ?? NO_VIOLATIONS };
}

/** Shared by every event without a problem (nearly all of them): nothing to allocate. */
const NO_VIOLATIONS: readonly Violation[] = [];

const DECIMAL_CODES: Record<DecimalFormatCode, ViolationCode> = {
  empty: "invalid_decimal",
  invalid_syntax: "invalid_decimal",
  negative: "negative",
  too_many_decimal_places: "too_many_decimal_places",
  too_many_digits: "too_many_digits",
};

const DECIMAL_PROBLEMS: Record<DecimalFormatCode, string> = {
  empty: "is not a decimal number",
  invalid_syntax: 'is not a plain decimal number (e.g. "1532" or "0.25"; no exponent, NaN or Infinity)',
  negative: "is negative, which the meter does not allow",
  too_many_decimal_places: "has more than 12 decimal places",
  too_many_digits: "has more than 26 integer digits (NUMERIC(38,12))",
};

/**
 * A meter turns usage events into a quantity: it selects events by type and property filters
 * and aggregates one of their properties. Meters are immutable once created; only their state
 * moves from active to archived.
 */
export const AGGREGATIONS = ["count", "sum", "max", "unique_count", "latest"] as const;
export type AggregationKind = (typeof AGGREGATIONS)[number];

/** Aggregations whose value property must hold a decimal. */
export function needsDecimal(aggregation: AggregationKind): boolean {
  return aggregation === "sum" || aggregation === "max" || aggregation === "latest";
}

export interface PropertyFilter {
  property: string;
  /** Accepted values, deduplicated and sorted. */
  values: readonly string[];
}

/** What a caller defines; normalized (filters sorted by property, values sorted and unique). */
export interface MeterSpec {
  key: string;
  eventType: string;
  aggregation: AggregationKind;
  /** "" for COUNT. */
  valueProperty: string;
  groupBy: readonly string[];
  filters: readonly PropertyFilter[];
  allowNegative: boolean;
  description: string;
}

export type MeterState = "active" | "archived";

export interface Meter extends MeterSpec {
  state: MeterState;
  createTime: Date;
  archiveTime: Date | undefined;
}

/** Whether two definitions are the same meter (CreateMeter re-run by a provisioning script). */
export function sameSpec(a: MeterSpec, b: MeterSpec): boolean {
  return (
    a.key === b.key &&
    a.eventType === b.eventType &&
    a.aggregation === b.aggregation &&
    a.valueProperty === b.valueProperty &&
    a.allowNegative === b.allowNegative &&
    a.description === b.description &&
    sameList(a.groupBy, b.groupBy) &&
    a.filters.length === b.filters.length &&
    a.filters.every((f, i) => f.property === b.filters[i]!.property && sameList(f.values, b.filters[i]!.values))
  );
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Whether an event's properties pass every filter of the meter (AND; a missing property fails). */
export function passesFilters(meter: MeterSpec, properties: Readonly<Record<string, string>>): boolean {
  for (const filter of meter.filters) {
    const value = properties[filter.property];
    if (value === undefined || !filter.values.includes(value)) return false;
  }
  return true;
}

import { BOUNDS } from "./bounds";
import { AGGREGATIONS, needsDecimal, type AggregationKind, type MeterSpec, type PropertyFilter } from "./meter";
import { compareCodePoints, fitsLength, hasNul } from "./text";
import { Violations } from "@tally/platform/errors";
import { quote, type Violation, type ViolationCode } from "./violation";

/** A meter definition as received; `aggregation` is undefined when unset or unknown. */
export interface MeterInput {
  key: string;
  eventType: string;
  aggregation: AggregationKind | undefined;
  valueProperty: string;
  groupBy: readonly string[];
  filters: readonly { property: string; values: readonly string[] }[];
  allowNegative: boolean;
  description: string;
}

export type MeterValidation = { ok: true; spec: MeterSpec } | { ok: false; violations: readonly Violation[] };

const KEY_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;

/**
 * Validates a meter definition, collecting every problem (each naming its field under
 * `path`, e.g. "meter.filters[1].values"), and returns it normalized: filters sorted by
 * property with sorted, de-duplicated values, so that equal definitions compare equal.
 */
export function validateMeter(input: MeterInput, path = "meter"): MeterValidation {
  const v = new Violations<ViolationCode>();
  if (input.key === "") v.add(`${path}.key`, "key is required", "required");
  else if (!KEY_PATTERN.test(input.key)) {
    v.add(`${path}.key`, `key ${quote(input.key)} must match [a-z][a-z0-9_]{0,62}`, "invalid_pattern");
  }
  checkName(v, `${path}.event_type`, "event_type", input.eventType, BOUNDS.maxEventTypeLength);

  const aggregation = input.aggregation;
  if (aggregation === undefined || !AGGREGATIONS.includes(aggregation)) {
    v.add(`${path}.aggregation`, "aggregation is required (COUNT, SUM, MAX, UNIQUE_COUNT or LATEST)", "required");
  } else if (aggregation === "count") {
    if (input.valueProperty !== "") {
      v.add(`${path}.value_property`, `value_property ${quote(input.valueProperty)} must be empty for COUNT`, "not_allowed");
    }
  } else {
    checkName(v, `${path}.value_property`, "value_property", input.valueProperty, BOUNDS.maxValuePropertyLength, aggregation);
  }
  if (input.allowNegative && aggregation !== undefined && !needsDecimal(aggregation)) {
    v.add(`${path}.allow_negative`, `allow_negative must be false for ${aggregation.toUpperCase()}`, "not_allowed");
  }

  if (input.groupBy.length > BOUNDS.maxGroupBy) {
    v.add(`${path}.group_by`, `group_by has ${input.groupBy.length} entries, at most ${BOUNDS.maxGroupBy} are allowed`, "too_many");
  }
  const seenGroups = new Set<string>();
  input.groupBy.forEach((property, i) => {
    const field = `${path}.group_by[${i}]`;
    checkName(v, field, "group_by entry", property, BOUNDS.maxValuePropertyLength);
    if (seenGroups.has(property)) v.add(field, `group_by lists ${quote(property)} twice`, "duplicate");
    seenGroups.add(property);
  });

  if (input.filters.length > BOUNDS.maxFilters) {
    v.add(`${path}.filters`, `filters has ${input.filters.length} entries, at most ${BOUNDS.maxFilters} are allowed`, "too_many");
  }
  const seenFilters = new Set<string>();
  const filters: PropertyFilter[] = input.filters.map((filter, i) => {
    const field = `${path}.filters[${i}]`;
    checkName(v, `${field}.property`, "filter property", filter.property, BOUNDS.maxValuePropertyLength);
    if (seenFilters.has(filter.property)) {
      v.add(`${field}.property`, `another filter already tests ${quote(filter.property)}; list all accepted values in one filter`, "duplicate");
    }
    seenFilters.add(filter.property);
    if (filter.values.length === 0) v.add(`${field}.values`, "a filter needs at least one value", "required");
    if (filter.values.length > BOUNDS.maxFilterValues) {
      v.add(`${field}.values`, `filter has ${filter.values.length} values, at most ${BOUNDS.maxFilterValues} are allowed`, "too_many");
    }
    filter.values.forEach((value, j) => {
      if (!fitsLength(value, BOUNDS.maxFilterValueLength)) {
        v.add(`${field}.values[${j}]`, `filter value is longer than ${BOUNDS.maxFilterValueLength} characters`, "too_long");
      } else if (hasNul(value)) {
        v.add(`${field}.values[${j}]`, "filter value contains a NUL character", "invalid_character");
      }
    });
    return { property: filter.property, values: [...new Set(filter.values)].sort(compareCodePoints) };
  });

  if (!fitsLength(input.description, BOUNDS.maxDescriptionLength)) {
    v.add(`${path}.description`, `description is longer than ${BOUNDS.maxDescriptionLength} characters`, "too_long");
  } else if (hasNul(input.description)) {
    v.add(`${path}.description`, "description contains a NUL character", "invalid_character");
  }

  if (!v.empty || aggregation === undefined) return { ok: false, violations: v.all };
  return {
    ok: true,
    spec: {
      key: input.key,
      eventType: input.eventType,
      aggregation,
      valueProperty: input.valueProperty,
      groupBy: [...input.groupBy],
      filters: filters.sort((a, b) => compareCodePoints(a.property, b.property)),
      allowNegative: input.allowNegative,
      description: input.description,
    },
  };
}

function checkName(v: Violations<ViolationCode>, field: string, label: string, value: string, max: number, requiredBy?: string): void {
  if (value === "") {
    v.add(field, requiredBy ? `${label} is required for ${requiredBy.toUpperCase()}` : `${label} is required`, "required");
  } else if (!fitsLength(value, max)) {
    v.add(field, `${label} ${quote(value)} is longer than ${max} characters`, "too_long");
  } else if (hasNul(value)) {
    v.add(field, `${label} contains a NUL character`, "invalid_character");
  }
}

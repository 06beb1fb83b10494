import { BOUNDS } from "./bounds";
import { AGGREGATIONS, needsDecimal, type AggregationKind, type MeterSpec, type PropertyFilter } from "./meter";
import { compareCodePoints, fitsLength, hasNul } from "./text";
import { quote, ViolationList, type Violation } from "./violation";

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

export type MeterValidation = { ok: true; spec: MeterSpec } | { ok: false; violations: Violation[] };

const KEY_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;

/**
 * Validates a meter definition, collecting every problem (each naming its field under
 * `path`, e.g. "meter.filters[1].values"), and returns it normalized: filters sorted by
 * property with sorted, de-duplicated values, so that equal definitions compare equal.
 */
export function validateMeter(input: MeterInput, path = "meter"): MeterValidation {
  const v = new ViolationList();
  if (input.key === "") v.add(`${path}.key`, "required", "key is required");
  else if (!KEY_PATTERN.test(input.key)) {
    v.add(`${path}.key`, "invalid_pattern", `key ${quote(input.key)} must match [a-z][a-z0-9_]{0,62}`);
  }
  checkName(v, `${path}.event_type`, "event_type", input.eventType, BOUNDS.maxEventTypeLength);

  const aggregation = input.aggregation;
  if (aggregation === undefined || !AGGREGATIONS.includes(aggregation)) {
    v.add(`${path}.aggregation`, "required", "aggregation is required (COUNT, SUM, MAX, UNIQUE_COUNT or LATEST)");
  } else if (aggregation === "count") {
    if (input.valueProperty !== "") {
      v.add(`${path}.value_property`, "not_allowed", `value_property ${quote(input.valueProperty)} must be empty for COUNT`);
    }
  } else {
    checkName(v, `${path}.value_property`, "value_property", input.valueProperty, BOUNDS.maxValuePropertyLength, aggregation);
  }
  if (input.allowNegative && aggregation !== undefined && !needsDecimal(aggregation)) {
    v.add(`${path}.allow_negative`, "not_allowed", `allow_negative must be false for ${aggregation.toUpperCase()}`);
  }

  if (input.groupBy.length > BOUNDS.maxGroupBy) {
    v.add(`${path}.group_by`, "too_many", `group_by has ${input.groupBy.length} entries, at most ${BOUNDS.maxGroupBy} are allowed`);
  }
  const seenGroups = new Set<string>();
  input.groupBy.forEach((property, i) => {
    const field = `${path}.group_by[${i}]`;
    checkName(v, field, "group_by entry", property, BOUNDS.maxValuePropertyLength);
    if (seenGroups.has(property)) v.add(field, "duplicate", `group_by lists ${quote(property)} twice`);
    seenGroups.add(property);
  });

  if (input.filters.length > BOUNDS.maxFilters) {
    v.add(`${path}.filters`, "too_many", `filters has ${input.filters.length} entries, at most ${BOUNDS.maxFilters} are allowed`);
  }
  const seenFilters = new Set<string>();
  const filters: PropertyFilter[] = input.filters.map((filter, i) => {
    const field = `${path}.filters[${i}]`;
    checkName(v, `${field}.property`, "filter property", filter.property, BOUNDS.maxValuePropertyLength);
    if (seenFilters.has(filter.property)) {
      v.add(`${field}.property`, "duplicate", `another filter already tests ${quote(filter.property)}; list all accepted values in one filter`);
    }
    seenFilters.add(filter.property);
    if (filter.values.length === 0) v.add(`${field}.values`, "required", "a filter needs at least one value");
    if (filter.values.length > BOUNDS.maxFilterValues) {
      v.add(`${field}.values`, "too_many", `filter has ${filter.values.length} values, at most ${BOUNDS.maxFilterValues} are allowed`);
    }
    filter.values.forEach((value, j) => {
      if (!fitsLength(value, BOUNDS.maxFilterValueLength)) {
        v.add(`${field}.values[${j}]`, "too_long", `filter value is longer than ${BOUNDS.maxFilterValueLength} characters`);
      } else if (hasNul(value)) {
        v.add(`${field}.values[${j}]`, "invalid_character", "filter value contains a NUL character");
      }
    });
    return { property: filter.property, values: [...new Set(filter.values)].sort(compareCodePoints) };
  });

  if (!fitsLength(input.description, BOUNDS.maxDescriptionLength)) {
    v.add(`${path}.description`, "too_long", `description is longer than ${BOUNDS.maxDescriptionLength} characters`);
  } else if (hasNul(input.description)) {
    v.add(`${path}.description`, "invalid_character", "description contains a NUL character");
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

function checkName(v: ViolationList, field: string, label: string, value: string, max: number, requiredBy?: string): void {
  if (value === "") {
    v.add(field, "required", requiredBy ? `${label} is required for ${requiredBy.toUpperCase()}` : `${label} is required`);
  } else if (!fitsLength(value, max)) {
    v.add(field, "too_long", `${label} ${quote(value)} is longer than ${max} characters`);
  } else if (hasNul(value)) {
    v.add(field, "invalid_character", `${label} contains a NUL character`);
  }
}

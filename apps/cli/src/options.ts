import { InvalidArgumentError } from "commander";

/** Commander option parsers: a bad value fails as a usage error naming the option. */
export function positiveInt(min = 1, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    return n;
  };
}

/** Accumulates a repeatable option (`--alert 80% --alert 1000`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** "a,b" → ["a", "b"]. */
export function commaList(value: string): string[] {
  return value.split(",").map((v) => v.trim()).filter((v) => v !== "");
}

/**
 * A lowercase choice mapped onto a generated enum ("sum" → Aggregation.SUM); the error lists
 * the choices.
 */
export function enumChoice<E extends Record<string, string | number>>(values: E, skip: string[] = ["UNSPECIFIED"]) {
  const names = Object.keys(values).filter((k) => Number.isNaN(Number(k)) && !skip.includes(k));
  return (value: string): E[keyof E] => {
    const key = value.trim().toUpperCase().replace(/-/g, "_");
    if (!names.includes(key)) throw new InvalidArgumentError(`must be one of ${names.map((n) => n.toLowerCase()).join(", ")}`);
    return values[key as keyof E];
  };
}

/** An enum value's name for tables: Aggregation.UNIQUE_COUNT → "unique_count". */
export function enumName<E extends Record<string, string | number>>(values: E, value: number): string {
  return String(values[value as unknown as keyof E] ?? value).toLowerCase();
}

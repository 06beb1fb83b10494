/**
 * Configuration comes from the environment and is validated once, at start.
 * Every problem is collected so an operator fixes them all in one go, and each
 * message names the variable.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
  }
}

type Env = Record<string, string | undefined>;

/** A reader for one variable: returns the parsed value or records a problem. */
export type Field<T> = (env: Env, problems: string[]) => T;

export type ConfigShape = Record<string, Field<unknown>>;
export type ConfigOf<S extends ConfigShape> = { [K in keyof S]: ReturnType<S[K]> };

export function loadConfig<S extends ConfigShape>(shape: S, env: Env = process.env): ConfigOf<S> {
  const problems: string[] = [];
  const config = {} as Record<string, unknown>;
  for (const [key, field] of Object.entries(shape)) config[key] = field(env, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return config as ConfigOf<S>;
}

function read(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

export function str(name: string, fallback?: string): Field<string> {
  return (env, problems) => {
    const value = read(env, name) ?? fallback;
    if (value === undefined) {
      problems.push(`${name} is required`);
      return "";
    }
    return value;
  };
}

export function int(name: string, fallback: number, range: { min?: number; max?: number } = {}): Field<number> {
  return (env, problems) => {
    const raw = read(env, name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = range;
    if (!/^-?\d+$/.test(raw) || value < min || value > max) {
      problems.push(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  };
}

export function url(name: string, fallback: string, protocols: string[]): Field<string> {
  return (env, problems) => {
    const raw = read(env, name) ?? fallback;
    try {
      const parsed = new URL(raw);
      if (!protocols.includes(parsed.protocol.replace(/:$/, ""))) {
        problems.push(`${name} must use ${protocols.join(" or ")}, got "${parsed.protocol}"`);
      }
    } catch {
      problems.push(`${name} is not a valid URL`);
    }
    return raw;
  };
}

export function oneOf<T extends string>(name: string, values: readonly T[], fallback: T): Field<T> {
  return (env, problems) => {
    const raw = read(env, name) ?? fallback;
    if (!(values as readonly string[]).includes(raw)) {
      problems.push(`${name} must be one of ${values.join(", ")}, got "${raw}"`);
      return fallback;
    }
    return raw as T;
  };
}

/** A variable holding a reader's parsed value, for types with their own parser. */
export function custom<T>(name: string, parse: (raw: string | undefined) => T): Field<T> {
  return (env, problems) => {
    try {
      return parse(read(env, name));
    } catch (err) {
      problems.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      return undefined as T;
    }
  };
}

import { currentTrace } from "./trace-context";

/**
 * Structured JSON logs, one object per line on stdout. No dependency: the
 * shape is small and stable, and log shippers only need `time`, `level`, `msg`.
 * Inside a call or a consumed message (see trace-context) every line carries
 * `trace_id` and `span_id`.
 */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(bindings: LogFields): Logger;
}

export function createLogger(
  bindings: LogFields = {},
  level: LogLevel = (process.env.LOG_LEVEL as LogLevel | undefined) ?? "info",
  write: (line: string) => void = (line) => process.stdout.write(line + "\n"),
): Logger {
  const threshold = rank[level] ?? rank.info;
  const log = (lvl: Exclude<LogLevel, "silent">, msg: string, fields?: LogFields) => {
    if (rank[lvl] < threshold) return;
    const trace = currentTrace();
    const traceFields = trace && { trace_id: trace.traceId, span_id: trace.spanId };
    write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...traceFields, ...bindings, ...serialize(fields) }));
  };
  return {
    debug: (msg, fields) => log("debug", msg, fields),
    info: (msg, fields) => log("info", msg, fields),
    warn: (msg, fields) => log("warn", msg, fields),
    error: (msg, fields) => log("error", msg, fields),
    child: (more) => createLogger({ ...bindings, ...more }, level, write),
  };
}

function serialize(fields: LogFields | undefined): LogFields | undefined {
  if (!fields) return fields;
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value;
  }
  return out;
}

import { Code, TallyError } from "./errors";

/**
 * A dependency (the database) cannot be reached right now: the caller should retry with
 * backoff, as the contract's UNAVAILABLE says. Never INTERNAL — nothing is wrong with the
 * request or the code.
 */
export class DependencyUnavailableError extends TallyError {
  constructor(cause: unknown) {
    super(Code.Unavailable, "database_unavailable", "the database is unavailable; retry with backoff", [], { cause });
  }
}

/**
 * Postgres SQLSTATEs that mean "not now" rather than "wrong": connection exceptions (class 08),
 * the server shutting down or starting (57P01–57P03), a statement or lock timeout, too many
 * connections.
 */
const TRANSIENT_SQLSTATES = new Set(["57P01", "57P02", "57P03", "57014", "55P03", "53300"]);

/** Node socket errors of a lost or refused connection. */
const TRANSIENT_ERRNOS = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);

/**
 * node-postgres reports a dropped or timed-out connection as a plain Error with one of these
 * messages (it has no code for them).
 */
const TRANSIENT_PG_MESSAGES = [
  "Connection terminated",
  "timeout exceeded when trying to connect",
  "Client has encountered a connection error and is not queryable",
  "Query read timeout",
];

/**
 * Whether `err` (or any error in its `cause` chain) says the database could not be reached or
 * dropped the connection — an outage, not a bug.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; typeof e === "object" && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && (code.startsWith("08") || TRANSIENT_SQLSTATES.has(code) || TRANSIENT_ERRNOS.has(code))) return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === "string" && TRANSIENT_PG_MESSAGES.some((m) => message.startsWith(m))) return true;
    if (e instanceof AggregateError && e.errors.some(isDatabaseUnavailable)) return true;
  }
  return false;
}

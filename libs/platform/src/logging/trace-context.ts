import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";

/**
 * W3C Trace Context (`traceparent: 00-<trace id>-<parent span id>-<flags>`), carried from an
 * incoming call's metadata through the outbox into NATS headers and restored by consumers, so
 * one usage event's trace id is on every log line of metering, rating and limits. No spans are
 * exported: a new span id per hop is all the logs need.
 */
export interface TraceContext {
  traceId: string;
  spanId: string;
  flags: string;
}

export const TRACEPARENT_HEADER = "traceparent";

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const INVALID_TRACE_ID = "0".repeat(32);
const INVALID_SPAN_ID = "0".repeat(16);
const storage = new AsyncLocalStorage<TraceContext>();

/** The context of a valid `traceparent`, or undefined (an invalid one starts a new trace, per the spec). */
export function parseTraceparent(value: string | undefined): TraceContext | undefined {
  const match = value === undefined ? null : TRACEPARENT.exec(value.trim().toLowerCase());
  if (!match || match[1] === INVALID_TRACE_ID || match[2] === INVALID_SPAN_ID) return undefined;
  return { traceId: match[1]!, spanId: match[2]!, flags: match[3]! };
}

export function formatTraceparent(c: TraceContext): string {
  return `00-${c.traceId}-${c.spanId}-${c.flags}`;
}

/**
 * This hop's context: the caller's trace with a new span id, or a new trace when there is none.
 * The random ids are drawn when first read (a log line, an outbox row), not when the call
 * starts: most calls on the hot path (Meter.Record) never read them, and two `randomBytes`
 * per call were measurable there.
 */
export function continueTrace(parent: TraceContext | undefined): TraceContext {
  return new ContinuedTrace(parent);
}

class ContinuedTrace implements TraceContext {
  private ownTraceId: string | undefined;
  private ownSpanId: string | undefined;

  constructor(private readonly parent: TraceContext | undefined) {}

  /** Whether this hop continues a caller's trace (rather than starting one). */
  get continuesCaller(): boolean {
    return this.parent !== undefined;
  }

  get traceId(): string {
    return this.parent?.traceId ?? (this.ownTraceId ??= randomBytes(16).toString("hex"));
  }

  get spanId(): string {
    return (this.ownSpanId ??= randomBytes(8).toString("hex"));
  }

  get flags(): string {
    return this.parent?.flags ?? "01";
  }
}

/** Runs `work` (and everything it awaits) in the trace continued from `traceparent`. */
export function runInTrace<T>(traceparent: string | undefined, work: () => T): T {
  return storage.run(continueTrace(parseTraceparent(traceparent)), work);
}

export function currentTrace(): TraceContext | undefined {
  return storage.getStore();
}

/** The `traceparent` to send onwards from here, if inside a trace. */
export function currentTraceparent(): string | undefined {
  const c = storage.getStore();
  return c && formatTraceparent(c);
}

/**
 * Like {@link currentTraceparent}, but only when this hop continues a caller's trace (the call
 * came with a valid traceparent). For per-item trace links in batched messages: a trace started
 * here links to nothing, and drawing its ids would cost every untraced call.
 */
export function continuedTraceparent(): string | undefined {
  const c = storage.getStore();
  return c instanceof ContinuedTrace && c.continuesCaller ? formatTraceparent(c) : undefined;
}

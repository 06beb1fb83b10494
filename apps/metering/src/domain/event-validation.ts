import type { EventContent } from "./event-content";
import { BOUNDS } from "./bounds";
import type { Meter } from "./meter";
import { readEvent } from "./reading";
import { fitsLength, hasNul } from "./text";
import { describeTimestamp, timestampToDate } from "./timestamp";
import type { UsageEventInput, ValidEvent } from "./usage-event";
import { Violations } from "@tally/platform/errors";
import { quote, type Violation, type ViolationCode } from "./violation";

/** What validating an event depends on besides the event. */
export interface EventValidationContext {
  /** When the event was received: the default event time and the reference for the time window. */
  receivedAt: Date;
  /** How far back an event time may lie (METERING_BACKFILL_DAYS). */
  backfillMs: number;
  /** Active meters reading this event type; empty when none does. */
  metersFor(eventType: string): readonly Meter[];
}

export type CheckedEvent =
  | { kind: "valid"; event: ValidEvent }
  | {
      kind: "rejected";
      violations: readonly Violation[];
      /** The id when it is well-formed: a retry of a stored event is still recognised. */
      id: string | undefined;
      /** The content when it can be compared with a stored event. */
      content: EventContent | undefined;
    };

/**
 * Validates one event, collecting every problem, each naming its field under `path`
 * ("event" for Record, "events[3]" for RecordBatch), and computes its meter readings.
 * Pure: the meters and the clock come from `ctx`.
 */
export function validateEvent(input: UsageEventInput, path: string, ctx: EventValidationContext): CheckedEvent {
  // Field names (`${path}.id`…) are built only when a violation needs one: this runs per event.
  const v = new Violations<ViolationCode>();
  const idOk = checkText(v, path, "id", input.id, BOUNDS.maxIdLength);
  checkText(v, path, "customer_id", input.customerId, BOUNDS.maxCustomerIdLength);
  const typeOk = checkText(v, path, "event_type", input.eventType, BOUNDS.maxEventTypeLength);

  let time: Date | undefined = ctx.receivedAt;
  const timeGiven = input.time !== undefined;
  if (input.time) {
    time = timestampToDate(input.time);
    if (!time) {
      v.add(`${path}.time`, `time ${describeTimestamp(input.time)} is not a valid timestamp`, "invalid_timestamp");
    } else if (time.getTime() > ctx.receivedAt.getTime() + BOUNDS.futureToleranceMs) {
      v.add(`${path}.time`, `time ${time.toISOString()} is more than 5 minutes in the future`, "in_future");
    } else if (time.getTime() < ctx.receivedAt.getTime() - ctx.backfillMs) {
      const days = Math.round(ctx.backfillMs / 86_400_000);
      v.add(`${path}.time`, `time ${time.toISOString()} is older than the ${days}-day backfill window`, "too_old");
    }
  }

  const propertiesOk = checkProperties(v, path, input.properties);

  let event: ValidEvent | undefined;
  if (typeOk) {
    const meters = ctx.metersFor(input.eventType);
    if (meters.length === 0) {
      v.add(`${path}.event_type`, `no active meter reads event type ${quote(input.eventType)}`, "unknown_event_type");
    } else if (propertiesOk) {
      const { readings, violations } = readEvent(input.properties, meters, path);
      for (const violation of violations) v.add(violation.field, violation.message, violation.code);
      if (v.empty && time) {
        event = {
          id: input.id,
          customerId: input.customerId,
          eventType: input.eventType,
          time,
          timeGiven,
          properties: input.properties,
          readings,
          wire: input.wire !== undefined && (!input.time || input.time.nanos % 1_000_000 === 0) ? input.wire : undefined,
        };
      }
    }
  }
  if (event) return { kind: "valid", event };
  return {
    kind: "rejected",
    violations: v.all,
    id: idOk ? input.id : undefined,
    content: time ? { customerId: input.customerId, eventType: input.eventType, properties: input.properties, time, timeGiven } : undefined,
  };
}

function checkText(v: Violations<ViolationCode>, path: string, name: string, value: string, max: number): boolean {
  if (value === "") {
    v.add(`${path}.${name}`, `${name} is required`, "required");
    return false;
  }
  if (!fitsLength(value, max)) {
    v.add(`${path}.${name}`, `${name} ${quote(value)} is longer than ${max} characters`, "too_long");
    return false;
  }
  if (hasNul(value)) {
    v.add(`${path}.${name}`, `${name} contains a NUL character`, "invalid_character");
    return false;
  }
  return true;
}

function checkProperties(v: Violations<ViolationCode>, path: string, properties: Readonly<Record<string, string>>): boolean {
  const before = v.count;
  let count = 0;
  for (const _ in properties) count++;
  if (count > BOUNDS.maxProperties) {
    v.add(`${path}.properties`, `event has ${count} properties, at most ${BOUNDS.maxProperties} are allowed`, "too_many");
  }
  let units = 0;
  for (const key in properties) {
    const value = properties[key]!;
    units += key.length + value.length;
    if (key === "") v.add(`${path}.properties[]`, "property keys must not be empty", "required");
    else if (!fitsLength(key, BOUNDS.maxPropertyKeyLength)) {
      v.add(`${path}.properties[${key}]`, `property key ${quote(key)} is longer than ${BOUNDS.maxPropertyKeyLength} characters`, "too_long");
    } else if (hasNul(key)) v.add(`${path}.properties[${key}]`, "property key contains a NUL character", "invalid_character");
    else if (key.startsWith(BOUNDS.reservedPropertyPrefix) && !BOUNDS.knownReservedProperties.includes(key)) {
      v.add(`${path}.properties[${key}]`, `property keys starting with "${BOUNDS.reservedPropertyPrefix}" are reserved; ${quote(key)} is not one Tally knows`, "reserved");
    }
    if (!fitsLength(value, BOUNDS.maxPropertyValueLength)) {
      v.add(`${path}.properties[${key}]`, `property ${quote(key)} is longer than ${BOUNDS.maxPropertyValueLength} characters`, "too_long");
    } else if (hasNul(value)) v.add(`${path}.properties[${key}]`, `property ${quote(key)} contains a NUL character`, "invalid_character");
  }
  // A UTF-16 unit is at most 3 UTF-8 bytes: only events that might be over pay for the exact count.
  const bytes = units * 3 <= BOUNDS.maxPropertiesBytes ? 0 : propertiesBytes(properties);
  if (bytes > BOUNDS.maxPropertiesBytes) {
    v.add(`${path}.properties`, `properties take ${bytes} bytes (keys and values, UTF-8), at most ${BOUNDS.maxPropertiesBytes} are allowed`, "too_large");
  }
  return v.count === before;
}

function propertiesBytes(properties: Readonly<Record<string, string>>): number {
  let bytes = 0;
  for (const key in properties) bytes += Buffer.byteLength(key) + Buffer.byteLength(properties[key]!);
  return bytes;
}

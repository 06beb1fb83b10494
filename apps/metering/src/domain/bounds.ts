/**
 * Every size and time limit metering enforces, in one place. The proto comments
 * (proto/tally/metering/v1) document the same numbers for API users; change both together.
 */
export const BOUNDS = {
  /** Most events in one RecordBatch. */
  maxBatchEvents: 5_000,
  /** UsageEvent.id, customer_id and event_type: 1–255 characters. */
  maxIdLength: 255,
  maxCustomerIdLength: 255,
  maxEventTypeLength: 255,
  /** UsageEvent.properties: at most 32 entries, keys 1–64 characters, values at most 512. */
  maxProperties: 32,
  maxPropertyKeyLength: 64,
  maxPropertyValueLength: 512,
  /**
   * Keys and values of one event together, in UTF-8 bytes. With the bounds above an event encodes
   * to at most ~5 KiB, so a full RecordBatch (5,000 events) stays under the servers' 32 MiB
   * maximum message size (maxRequestBytes) — without it, 5,000 valid events could exceed it.
   */
  maxPropertiesBytes: 4_096,
  /** Largest request a server accepts (grpc.max_receive_message_length); see proto/README.md. */
  maxRequestBytes: 32 * 1024 * 1024,
  /** Property keys starting with this are Tally's own; only the listed ones are accepted. */
  reservedPropertyPrefix: "tally_",
  /** Settles a tally.limits.v1 reservation (see proto/tally/limits/v1/limits.proto). */
  knownReservedProperties: ["tally_reservation_id"] as readonly string[],
  /** An event time may be at most this far ahead of the server's clock (clock skew allowance). */
  futureToleranceMs: 5 * 60_000,
  /** Default of METERING_BACKFILL_DAYS: how old an event time may be. */
  defaultBackfillDays: 35,
  maxBackfillDays: 3_650,

  /** MeterDefinition limits. */
  maxMeterKeyLength: 63,
  maxValuePropertyLength: 64,
  maxGroupBy: 8,
  maxFilters: 16,
  maxFilterValues: 100,
  maxFilterValueLength: 512,
  maxDescriptionLength: 1_024,
  /**
   * Active meters per event type. Bounds the readings one event carries, so that a single
   * RecordedEvent always fits in a NATS message (1 MB) whatever its properties.
   */
  maxActiveMetersPerEventType: 50,

  /** UsageRecorded: most events per NATS message, and the payload budget under NATS's 1 MB. */
  maxEventsPerMessage: 1_000,
  maxMessageBytes: 900_000,

  /** QueryUsage: most windows one query may span. */
  maxQueryWindows: 10_000,
  /** ListMeters page sizes. */
  defaultPageSize: 100,
  maxPageSize: 1_000,
} as const;

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

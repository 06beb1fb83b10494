/**
 * Every size and time rule limits enforces, in one place. The proto comments
 * (proto/tally/limits/v1) state the same numbers; change both together.
 */
export const RULES = {
  maxAlertsPerLimit: 10,
  /** Reservation TTL: default and maximum. */
  defaultReservationTtlMs: 60_000,
  maxReservationTtlMs: 3_600_000,
  /** Check idempotency keys and terminal reservations are kept this long. */
  idempotencyRetentionMs: 24 * 3_600_000,
  maxIdempotencyKeyLength: 255,
  maxDescriptionLength: 1_024,
  maxIdLength: 255,
  defaultPageSize: 100,
  maxPageSize: 1_000,
} as const;

-- Metering's tables (schema "metering"; the platform's outbox table is version 0).

-- Meter definitions. Immutable once created except for archived_at; keys are never reused.
CREATE TABLE meters (
  key            text PRIMARY KEY,
  event_type     text NOT NULL,
  aggregation    text NOT NULL CHECK (aggregation IN ('count', 'sum', 'max', 'unique_count', 'latest')),
  value_property text NOT NULL,
  group_by       text[] NOT NULL,
  filters        jsonb NOT NULL,
  allow_negative boolean NOT NULL,
  description    text NOT NULL,
  created_at     timestamptz NOT NULL,
  archived_at    timestamptz
);
CREATE INDEX meters_active_by_event_type ON meters (event_type) WHERE archived_at IS NULL;

-- One row, bumped by every meter change in the same transaction. Each ingest transaction reads
-- it (under a shared advisory lock that meter changes take exclusively) and reloads its cached
-- meters when it moved, so no instance ever records with a stale set of meters.
CREATE TABLE meter_catalog (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  version   bigint NOT NULL
);
INSERT INTO meter_catalog (singleton, version) VALUES (true, 0);

-- Raw usage events, kept lean for ingest speed: the primary key is the permanent
-- de-duplication (an id is taken once and for all); the (event_type, event_time) index serves
-- the backfill of a new meter. content_hash covers customer, type and properties (sha256 of a
-- canonical encoding); the time is compared separately because a retry may omit it.
CREATE TABLE events (
  event_id     text PRIMARY KEY,
  customer_id  text NOT NULL,
  event_type   text NOT NULL,
  event_time   timestamptz NOT NULL,
  time_given   boolean NOT NULL,
  properties   jsonb NOT NULL,
  content_hash bytea NOT NULL,
  recorded_at  timestamptz NOT NULL
);
CREATE INDEX events_by_type_and_time ON events (event_type, event_time);

-- Per meter, customer, one-minute bucket of event time and group: what QueryUsage reads.
-- Maintained in the ingest transaction. group_hash (sha256 of group_key) keys the row because
-- group values may be too long for a btree entry. Only the columns of the meter's aggregation
-- are set: value_sum (SUM, unbounded so sums never overflow), value_max (MAX), latest_* (LATEST:
-- the reading with the greatest (event time, record time, event id), ids compared byte-wise).
CREATE TABLE usage_rollup (
  meter_key          text NOT NULL,
  customer_id        text NOT NULL,
  bucket_start       timestamptz NOT NULL,
  group_hash         bytea NOT NULL,
  group_key          jsonb NOT NULL,
  event_count        bigint NOT NULL,
  value_sum          numeric,
  value_max          numeric(38, 12),
  latest_time        timestamptz,
  latest_recorded_at timestamptz,
  latest_event_id    text COLLATE "C",
  latest_value       numeric(38, 12),
  PRIMARY KEY (meter_key, customer_id, bucket_start, group_hash)
);

-- UNIQUE_COUNT meters: each distinct value per bucket and group, so that distinct counts over
-- any range are exact (distinct counts do not add up across buckets).
CREATE TABLE usage_unique_values (
  meter_key    text NOT NULL,
  customer_id  text NOT NULL,
  bucket_start timestamptz NOT NULL,
  group_hash   bytea NOT NULL,
  value_hash   bytea NOT NULL,
  group_key    jsonb NOT NULL,
  value        text NOT NULL,
  PRIMARY KEY (meter_key, customer_id, bucket_start, group_hash, value_hash)
);

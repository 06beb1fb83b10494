-- Rating's own schema. Quantities and amounts are NUMERIC(38,12) (the pricing library's bounds).

-- Rating's copy of metering's meter definitions (from MeterCreated / MeterArchived).
CREATE TABLE meters (
  key          text PRIMARY KEY,
  aggregation  text NOT NULL,
  group_by     text[] NOT NULL,
  active       boolean NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Plan versions are immutable rows; `definition` is the tally.rating.v1.Plan as created.
CREATE TABLE plans (
  key           text NOT NULL,
  version       integer NOT NULL,
  currency      text NOT NULL,
  definition    bytea NOT NULL,
  -- component key -> meter aggregation at creation (meters may be archived later)
  aggregations  jsonb NOT NULL,
  create_time   timestamptz NOT NULL,
  PRIMARY KEY (key, version)
);

CREATE TABLE subscriptions (
  id               text PRIMARY KEY,
  customer_id      text NOT NULL,
  time_zone        text NOT NULL,
  anchor           text NOT NULL,
  start_time       timestamptz NOT NULL,
  cancel_time      timestamptz,
  -- [{from, interval}] and [{start, planKey, planVersion}], see domain/subscription.ts
  phases           jsonb NOT NULL,
  segments         jsonb NOT NULL,
  idempotency_key  text,
  create_time      timestamptz NOT NULL,
  revision         bigint NOT NULL,
  -- What was last announced on subscription.changed (the period advancer moves these on).
  announced_status text NOT NULL,
  announced_period_end timestamptz
);
CREATE INDEX subscriptions_customer ON subscriptions (customer_id, create_time DESC);
CREATE INDEX subscriptions_to_advance ON subscriptions (announced_period_end) WHERE announced_status <> 'canceled';
CREATE UNIQUE INDEX subscriptions_idempotency ON subscriptions (customer_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Every usage event id rating has handled (rated or kept unrated): the at-most-once guard.
CREATE TABLE rated_events (
  event_id   text PRIMARY KEY,
  rated_at   timestamptz NOT NULL DEFAULT now()
);

-- One row per (subscription, component, dimension value, period): the lock and the sequence.
CREATE TABLE period_usage (
  subscription_id  text NOT NULL,
  component_key    text NOT NULL,
  dimension_value  text NOT NULL,
  period_start     timestamptz NOT NULL,
  sequence         bigint NOT NULL DEFAULT 0,
  amount           NUMERIC(38,12) NOT NULL DEFAULT 0,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (subscription_id, component_key, dimension_value, period_start)
);

-- The running aggregate of one plan segment of that period.
CREATE TABLE segment_usage (
  subscription_id  text NOT NULL,
  component_key    text NOT NULL,
  dimension_value  text NOT NULL,
  period_start     timestamptz NOT NULL,
  segment_start    timestamptz NOT NULL,
  customer_id      text NOT NULL,
  plan_key         text NOT NULL,
  plan_version     integer NOT NULL,
  meter_key        text NOT NULL,
  segment_end      timestamptz NOT NULL,
  period_end       timestamptz NOT NULL,
  quantity         NUMERIC(38,12) NOT NULL,
  readings         bigint NOT NULL,
  latest_time      timestamptz,
  latest_event_id  text NOT NULL DEFAULT '',
  amount           NUMERIC(38,12) NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (subscription_id, component_key, dimension_value, period_start, segment_start)
);
CREATE INDEX segment_usage_by_period ON segment_usage (subscription_id, period_start);

-- UNIQUE_COUNT: the distinct values seen, per aggregate (segment of a period).
CREATE TABLE unique_values (
  subscription_id  text NOT NULL,
  component_key    text NOT NULL,
  dimension_value  text NOT NULL,
  period_start     timestamptz NOT NULL,
  segment_start    timestamptz NOT NULL,
  value            text NOT NULL,
  PRIMARY KEY (subscription_id, component_key, dimension_value, period_start, segment_start, value)
);

-- Readings kept without being priced (never dropped), with why.
CREATE TABLE unrated_events (
  seq           bigserial,
  event_id      text NOT NULL,
  meter_key     text NOT NULL,
  customer_id   text NOT NULL,
  event_type    text NOT NULL,
  event_time    timestamptz NOT NULL,
  aggregation   text NOT NULL,
  value         text NOT NULL,
  grp           jsonb NOT NULL,
  reason        text NOT NULL,
  detail        text NOT NULL,
  receive_time  timestamptz NOT NULL,
  PRIMARY KEY (event_id, meter_key)
);
CREATE INDEX unrated_events_newest ON unrated_events (seq DESC);
CREATE INDEX unrated_events_customer ON unrated_events (customer_id, seq DESC);

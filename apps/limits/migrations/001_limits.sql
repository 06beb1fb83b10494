-- Limits' own state. Everything here is either set through the Limits API or
-- derived from rating's events; nothing is read from another service's tables.
-- Quantities and money are NUMERIC(38,12), the same bounds as the wire format.

-- Plan versions, from tally.rating.v1.plan.published (immutable per version).
CREATE TABLE plans (
  plan_key      text NOT NULL,
  plan_version  integer NOT NULL,
  currency      text NOT NULL,
  -- [{key, meterKey, price?, dimensional?}] in @tally/pricing's wire-free shape (decimal strings).
  components    jsonb NOT NULL,
  PRIMARY KEY (plan_key, plan_version)
);

-- Meters some published plan prices: the meters whose usage limits can ever observe.
CREATE TABLE known_meters (
  meter_key text PRIMARY KEY
);

-- One row per customer: the subscription snapshot (from
-- tally.rating.v1.subscription.changed) and the credit settings. Also the lock
-- that serializes everything customer-wide (credit burns, total-spend and
-- prepaid checks).
CREATE TABLE customers (
  customer_id      text PRIMARY KEY,
  subscription_id  text,
  plan_key         text,
  plan_version     integer,
  status           text,             -- pending | active | canceled
  period_start     timestamptz,
  period_end       timestamptz,
  revision         bigint NOT NULL DEFAULT 0,
  prepaid_only     boolean NOT NULL DEFAULT false,
  depleted         boolean NOT NULL DEFAULT false,
  depletion_count  integer NOT NULL DEFAULT 0,
  -- Rated spend that no credit covered (invoiced as usual), summed.
  overage          numeric(38,12) NOT NULL DEFAULT 0
);

-- Latest applied RunningAmount per rating key. `base_quantity` carries the
-- quantity of earlier plan segments of the same period (rating's quantity is
-- per segment). `amount`/`sequence` are what burns are computed against.
CREATE TABLE running_amounts (
  subscription_id  text NOT NULL,
  component_key    text NOT NULL,
  dimension_value  text NOT NULL,
  period_start     timestamptz NOT NULL,
  period_end       timestamptz,
  customer_id      text NOT NULL,
  meter_key        text NOT NULL,
  plan_key         text NOT NULL,
  plan_version     integer NOT NULL,
  quantity         numeric(38,12) NOT NULL,
  base_quantity    numeric(38,12) NOT NULL DEFAULT 0,
  amount           numeric(38,12) NOT NULL,
  currency         text NOT NULL,
  sequence         bigint NOT NULL,
  PRIMARY KEY (subscription_id, component_key, dimension_value, period_start)
);
CREATE INDEX running_amounts_customer_meter ON running_amounts (customer_id, meter_key, period_start);

-- Counted usage per (customer, meter, period): the row Check locks to
-- serialize reservations of one meter, and what Check reads.
CREATE TABLE meter_usage (
  customer_id   text NOT NULL,
  meter_key     text NOT NULL,
  period_start  timestamptz NOT NULL,
  quantity      numeric(38,12) NOT NULL DEFAULT 0,
  spend         numeric(38,12) NOT NULL DEFAULT 0,
  PRIMARY KEY (customer_id, meter_key, period_start)
);

CREATE TABLE limits (
  limit_id     text PRIMARY KEY,
  plan_key     text,
  customer_id  text,
  meter_key    text NOT NULL,          -- '' = total spend
  kind         text NOT NULL,          -- hard_cap | soft_limit
  measure      text NOT NULL,          -- units | spend
  value        numeric(38,12) NOT NULL CHECK (value > 0),
  currency     text NOT NULL,          -- '' for units
  alerts       jsonb NOT NULL,         -- [{"percent":"80"} | {"absolute":"500"}]
  CHECK ((plan_key IS NULL) <> (customer_id IS NULL))
);
CREATE UNIQUE INDEX limits_plan_scope ON limits (plan_key, meter_key, measure, kind) WHERE plan_key IS NOT NULL;
CREATE UNIQUE INDEX limits_customer_scope ON limits (customer_id, meter_key, measure, kind) WHERE customer_id IS NOT NULL;

CREATE TABLE reservations (
  reservation_id   text PRIMARY KEY,
  customer_id      text NOT NULL,
  meter_key        text NOT NULL,
  period_start     timestamptz NOT NULL,
  quantity         numeric(38,12) NOT NULL CHECK (quantity >= 0),
  -- Spend the hold stands for (priced with the plan at check time).
  cost             numeric(38,12) NOT NULL DEFAULT 0,
  -- Part of a COMMITTED hold already covered by rated usage.
  settled          numeric(38,12) NOT NULL DEFAULT 0,
  status           text NOT NULL,      -- active | committed | released | settled | expired
  create_time      timestamptz NOT NULL,
  expire_time      timestamptz NOT NULL,
  commit_time      timestamptz
);
CREATE INDEX reservations_holding ON reservations (customer_id, meter_key, period_start, expire_time)
  WHERE status IN ('active', 'committed');
CREATE INDEX reservations_expiry ON reservations (expire_time) WHERE status IN ('active', 'committed');

-- Idempotency of Check-with-reserve: the original answer, kept 24 h.
CREATE TABLE check_idempotency (
  customer_id      text NOT NULL,
  idempotency_key  text NOT NULL,
  response         jsonb NOT NULL,
  create_time      timestamptz NOT NULL,
  PRIMARY KEY (customer_id, idempotency_key)
);

CREATE TABLE grants (
  grant_id         text PRIMARY KEY,
  customer_id      text NOT NULL,
  currency         text NOT NULL,
  amount           numeric(38,12) NOT NULL CHECK (amount > 0),
  credits          text NOT NULL,
  credit_rate      text NOT NULL,
  priority         integer NOT NULL CHECK (priority >= 0),
  effective_time   timestamptz NOT NULL,
  expire_time      timestamptz,
  idempotency_key  text NOT NULL,
  description      text NOT NULL,
  -- Sum of this grant's ledger entries (kept in the same transaction as each entry).
  remaining        numeric(38,12) NOT NULL DEFAULT 0 CHECK (remaining >= 0),
  -- Net amount burned from it (burns minus reversals): what a correction can give back.
  burned           numeric(38,12) NOT NULL DEFAULT 0 CHECK (burned >= 0),
  credited         boolean NOT NULL DEFAULT false,  -- GRANT entry written (effective)
  closed           text,                            -- NULL | expired | voided
  create_time      timestamptz NOT NULL,
  void_time        timestamptz,
  void_reason      text NOT NULL DEFAULT '',
  request_hash     text NOT NULL,
  UNIQUE (customer_id, idempotency_key)
);
CREATE INDEX grants_customer ON grants (customer_id);

-- Append-only: balance = sum(amount); corrections are new entries.
CREATE TABLE ledger_entries (
  seq            bigserial PRIMARY KEY,
  entry_id       text NOT NULL UNIQUE,
  customer_id    text NOT NULL,
  grant_id       text NOT NULL REFERENCES grants (grant_id),
  kind           text NOT NULL,      -- grant | burn | expiry | void
  amount         numeric(38,12) NOT NULL,
  currency       text NOT NULL,
  create_time    timestamptz NOT NULL,
  source_ref     text NOT NULL,
  balance_after  numeric(38,12) NOT NULL CHECK (balance_after >= 0)
);
CREATE INDEX ledger_entries_customer ON ledger_entries (customer_id, seq DESC);

CREATE FUNCTION ledger_entries_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger entries are immutable';
END $$;
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_entries_immutable();

-- Every positive or negative change of rated spend that was applied to
-- credits: the burned part and the overage (spend no credit covered).
CREATE TABLE spend_applications (
  source_ref   text PRIMARY KEY,     -- <subscription>/<component>/<dimension>/<period start>#<sequence>
  customer_id  text NOT NULL,
  delta        numeric(38,12) NOT NULL,
  burned       numeric(38,12) NOT NULL,
  overage      numeric(38,12) NOT NULL,
  create_time  timestamptz NOT NULL
);

CREATE TABLE triggered_alerts (
  alert_id         text PRIMARY KEY,
  limit_id         text NOT NULL,
  threshold_key    text NOT NULL,      -- "percent:80" | "absolute:500"
  customer_id      text NOT NULL,
  period_start     timestamptz NOT NULL,
  period_end       timestamptz,
  threshold        jsonb NOT NULL,
  observed_value   numeric(38,12) NOT NULL,
  threshold_value  numeric(38,12) NOT NULL,
  limit_value      numeric(38,12) NOT NULL,
  meter_key        text NOT NULL,
  measure          text NOT NULL,
  kind             text NOT NULL,
  currency         text NOT NULL,
  trigger_time     timestamptz NOT NULL,
  seq              bigserial,
  UNIQUE (limit_id, threshold_key, customer_id, period_start)
);
CREATE INDEX triggered_alerts_customer ON triggered_alerts (customer_id, seq DESC);

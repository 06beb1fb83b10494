-- Payments' copy of each invoice, from invoicing's events: enough to charge, refund and reconcile.
CREATE TABLE invoices (
  id              text PRIMARY KEY,
  customer_id     text NOT NULL,
  currency        text NOT NULL,
  amount_due      numeric(38,12) NOT NULL,
  state           text NOT NULL CHECK (state IN ('open', 'paid', 'void', 'uncollectible')),
  finalize_time   timestamptz NOT NULL,
  amount_paid     numeric(38,12) NOT NULL DEFAULT 0,
  amount_refunded numeric(38,12) NOT NULL DEFAULT 0
);
CREATE INDEX invoices_by_finalize_time ON invoices (currency, finalize_time);

-- A Tally customer's provider customer and the payment method charged.
CREATE TABLE customers (
  customer_id            text PRIMARY KEY,
  provider_customer_id   text NOT NULL,
  default_payment_method text NOT NULL DEFAULT ''
);

-- Every try to collect an invoice. Written (pending) before the provider is called; the
-- idempotency key sent with the call is derived from the row, so a retry after a crash or a
-- lost response replays the same charge instead of making a second one.
CREATE TABLE attempts (
  id                   text PRIMARY KEY,
  invoice_id           text NOT NULL REFERENCES invoices (id),
  customer_id          text NOT NULL,
  attempt_number       int NOT NULL,
  amount               numeric(38,12) NOT NULL,
  currency             text NOT NULL,
  status               text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled')),
  idempotency_key      text NOT NULL UNIQUE,
  caller_key           text UNIQUE,
  provider_customer_id text NOT NULL DEFAULT '',
  payment_method       text NOT NULL DEFAULT '',
  provider_payment_id  text NOT NULL DEFAULT '',
  failure_code         text NOT NULL DEFAULT '',
  failure_message      text NOT NULL DEFAULT '',
  next_retry_time      timestamptz,
  create_time          timestamptz NOT NULL,
  update_time          timestamptz NOT NULL,
  seq                  bigserial NOT NULL,
  UNIQUE (invoice_id, attempt_number)
);
-- At most one attempt in flight per invoice: two instances (or a redelivered event) cannot both start one.
CREATE UNIQUE INDEX attempts_one_pending ON attempts (invoice_id) WHERE status = 'pending';
CREATE INDEX attempts_retry_due ON attempts (next_retry_time) WHERE next_retry_time IS NOT NULL;
CREATE INDEX attempts_pending ON attempts (update_time) WHERE status = 'pending';
CREATE INDEX attempts_by_seq ON attempts (seq);

-- One refund per credit note, keyed by it.
CREATE TABLE refunds (
  id                 text PRIMARY KEY,
  credit_note_id     text NOT NULL UNIQUE,
  invoice_id         text NOT NULL REFERENCES invoices (id),
  amount             numeric(38,12) NOT NULL,
  currency           text NOT NULL,
  status             text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
  provider_refund_id text NOT NULL DEFAULT '',
  failure_code       text NOT NULL DEFAULT '',
  create_time        timestamptz NOT NULL,
  update_time        timestamptz NOT NULL,
  seq                bigserial NOT NULL
);
CREATE INDEX refunds_pending ON refunds (update_time) WHERE status = 'pending';

-- Provider webhooks, stored before the 2xx (deduplicated by event id), processed afterwards.
CREATE TABLE webhook_events (
  id           text PRIMARY KEY,
  type         text NOT NULL,
  payload      jsonb NOT NULL,
  received_at  timestamptz NOT NULL,
  processed_at timestamptz
);
CREATE INDEX webhook_events_unprocessed ON webhook_events (received_at) WHERE processed_at IS NULL;

-- Invoicing events already applied (consumers are idempotent by event id).
CREATE TABLE consumed_events (
  id text PRIMARY KEY
);

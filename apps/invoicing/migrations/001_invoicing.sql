-- Invoicing's own state. Customers' billing profiles are set through the Invoicing API;
-- subscriptions are learned from tally.rating.v1.subscription.changed; invoice lines come from
-- rating's PreviewPeriods and credits from limits' ledger, over gRPC. Money is NUMERIC(38,12).

CREATE TABLE customers (
  customer_id     text PRIMARY KEY,
  legal_name      text NOT NULL,
  email           text NOT NULL,
  billing_address jsonb NOT NULL,
  currency        text NOT NULL,
  time_zone       text NOT NULL DEFAULT '',   -- learned from rating (output-only)
  grace_ms        bigint NOT NULL,
  net_terms_days  integer NOT NULL,
  tax_rates       jsonb NOT NULL,             -- [{name, percent}]
  tax_exempt      boolean NOT NULL,
  invoice_prefix  text NOT NULL,
  balance         numeric(38,12) NOT NULL DEFAULT 0 CHECK (balance >= 0),
  create_time     timestamptz NOT NULL,
  update_time     timestamptz NOT NULL
);

-- Subscriptions to bill, and the next period not yet closed: `next_period_at` is an instant in it
-- (its start), `next_close_at` when it ends (unknown, i.e. the start, until rating has priced it).
CREATE TABLE subscriptions (
  subscription_id text PRIMARY KEY,
  customer_id     text NOT NULL,
  time_zone       text NOT NULL,
  start_time      timestamptz NOT NULL,
  cancel_time     timestamptz,
  revision        bigint NOT NULL,
  segments        jsonb NOT NULL,             -- [{planKey, planVersion, start}] from rating's snapshot
  next_period_at  timestamptz,                -- NULL: every period is closed (canceled, done)
  next_close_at   timestamptz
);
CREATE INDEX subscriptions_due ON subscriptions (next_close_at) WHERE next_period_at IS NOT NULL;

-- Issuing sequences: the next number is taken under this row's lock in the transaction that
-- finalizes, so a rollback gives it back (gapless) and a commit keeps it (never reused).
CREATE TABLE invoice_sequences (
  prefix      text PRIMARY KEY,
  last_number bigint NOT NULL
);

CREATE TABLE invoices (
  id              text PRIMARY KEY,
  subscription_id text NOT NULL,
  customer_id     text NOT NULL,
  period_start    timestamptz NOT NULL,
  period_end      timestamptz NOT NULL,
  status          text NOT NULL CHECK (status IN ('draft', 'finalized', 'paid', 'void', 'uncollectible')),
  currency        text NOT NULL,
  customer_name   text NOT NULL,
  sequence_prefix text NOT NULL,
  sequence_number bigint,
  number          text UNIQUE,
  segments        jsonb NOT NULL,
  lines           jsonb NOT NULL,
  tax_lines       jsonb NOT NULL,
  tax_exempt      boolean NOT NULL,
  subtotal        numeric(38,12) NOT NULL,
  total           numeric(38,12) NOT NULL,
  credits_applied numeric(38,12) NOT NULL,
  balance_applied numeric(38,12) NOT NULL,
  taxable_amount  numeric(38,12) NOT NULL,
  tax_total       numeric(38,12) NOT NULL,
  amount_due      numeric(38,12) NOT NULL CHECK (amount_due >= 0),
  amount_paid     numeric(38,12) NOT NULL DEFAULT 0,
  amount_credited numeric(38,12) NOT NULL DEFAULT 0,
  amount_refunded numeric(38,12) NOT NULL DEFAULT 0,
  create_time     timestamptz NOT NULL,
  finalize_after  timestamptz NOT NULL,       -- end of the grace period
  finalize_time   timestamptz,
  due_time        timestamptz,
  paid_time       timestamptz,
  void_time       timestamptz,
  void_reason     text NOT NULL DEFAULT '',
  -- Rating re-rated usage of the period after the draft was built: refresh before finalizing.
  stale           boolean NOT NULL DEFAULT false,
  -- Exactly one invoice per (subscription, period), whoever closes it and however often.
  UNIQUE (subscription_id, period_start),
  UNIQUE (sequence_prefix, sequence_number),
  CHECK (amount_paid + amount_credited <= amount_due)
);
CREATE INDEX invoices_open_drafts ON invoices (finalize_after) WHERE status = 'draft';
CREATE INDEX invoices_customer ON invoices (customer_id, period_start DESC);

CREATE TABLE credit_notes (
  id               text PRIMARY KEY,
  invoice_id       text NOT NULL REFERENCES invoices (id),
  idempotency_key  text NOT NULL UNIQUE,
  amount           numeric(38,12) NOT NULL CHECK (amount > 0),
  currency         text NOT NULL,
  reason           text NOT NULL,
  refund_due       numeric(38,12) NOT NULL,
  balance_credited numeric(38,12) NOT NULL,
  create_time      timestamptz NOT NULL
);

-- Balance moves (credit notes add, invoices apply), so the balance can be audited.
CREATE TABLE balance_entries (
  seq         bigserial PRIMARY KEY,
  customer_id text NOT NULL,
  amount      numeric(38,12) NOT NULL,
  source_ref  text NOT NULL UNIQUE,           -- credit note id, or invoice id when applied
  create_time timestamptz NOT NULL
);

-- Payments' events already applied (their meta.id), so redelivery changes nothing.
CREATE TABLE applied_events (
  event_id text PRIMARY KEY
);

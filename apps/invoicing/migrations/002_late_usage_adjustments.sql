-- Usage that rating priced for a period after its invoice was finalized. Each row is the
-- difference for one line of that invoice (re-priced − billed − earlier adjustments), computed
-- under the source invoice's row lock so it is recorded once. It stays pending (invoice_id NULL)
-- until the subscription's next invoice is finalized, which takes it in the same transaction:
-- billed exactly once. `invoices.stale` on an issued invoice means "look for late usage".
CREATE TABLE late_adjustments (
  id                text PRIMARY KEY,
  subscription_id   text NOT NULL,
  customer_id       text NOT NULL,
  source_invoice_id text NOT NULL REFERENCES invoices (id),
  source_ref        text NOT NULL,              -- the line of the source invoice it completes
  kind              text NOT NULL,              -- that line's kind
  component_key     text NOT NULL,
  dimension_value   text NOT NULL,
  period_start      timestamptz NOT NULL,       -- the source period
  period_end        timestamptz NOT NULL,
  line_period_start timestamptz NOT NULL,       -- the source line's (its plan segment's) range
  line_period_end   timestamptz NOT NULL,
  currency          text NOT NULL,
  quantity          numeric(38,12) NOT NULL,
  amount            numeric(38,12) NOT NULL,
  create_time       timestamptz NOT NULL,
  invoice_id        text REFERENCES invoices (id) -- the invoice that bills it; NULL: pending
);
CREATE INDEX late_adjustments_pending ON late_adjustments (subscription_id) WHERE invoice_id IS NULL;
CREATE INDEX late_adjustments_source ON late_adjustments (source_invoice_id);

-- Blocking a customer on an uncollectible invoice. NULL: the service's LIMITS_BLOCK_ON_UNCOLLECTIBLE.
ALTER TABLE customers ADD COLUMN block_on_uncollectible boolean;

-- Invoices as payments' events leave them: 'uncollectible' (DunningExhausted) until 'paid'
-- (PaymentSucceeded). A paid invoice keeps its row so that a DunningExhausted handled after its
-- PaymentSucceeded (a redelivery, a batch split into single messages) cannot block again.
CREATE TABLE invoice_collection (
  invoice_id  text PRIMARY KEY,
  customer_id text NOT NULL,
  state       text NOT NULL CHECK (state IN ('uncollectible', 'paid')),
  update_time timestamptz NOT NULL
);
CREATE INDEX invoice_collection_uncollectible ON invoice_collection (customer_id) WHERE state = 'uncollectible';

-- A refund can wait for its invoice's payment: a credit note may arrive while the payment that
-- covers it has succeeded at the provider but is not recorded here yet (the response or webhook
-- still to come). It is sent once the payment is recorded, never before, never beyond it.
ALTER TABLE refunds DROP CONSTRAINT refunds_status_check;
ALTER TABLE refunds ADD CONSTRAINT refunds_status_check CHECK (status IN ('waiting', 'pending', 'succeeded', 'failed'));
CREATE INDEX refunds_waiting ON refunds (invoice_id) WHERE status = 'waiting';

-- A payment that succeeds after its invoice was voided is refunded automatically: such a refund
-- has no credit note, and says why.
ALTER TABLE refunds ALTER COLUMN credit_note_id DROP NOT NULL;
ALTER TABLE refunds ADD COLUMN reason text NOT NULL DEFAULT 'credit_note' CHECK (reason IN ('credit_note', 'invoice_voided'));

-- The precise credit limits' ledger had burned for the invoice's own period when the invoice was
-- last priced (credits_applied is that, rounded once and capped at the total). Limits burns when it
-- consumes rating's running amounts, so usage of a finalized period that arrives late burns more of
-- that period's credit: the difference between the ledger and this column is recorded as a
-- 'late_credit' late adjustment and applied as credit on the next invoice, like late usage.
-- Invoices issued before this column: what they applied is the best record of what they took.
ALTER TABLE invoices ADD COLUMN credits_burned numeric(38,12) NOT NULL DEFAULT 0;
UPDATE invoices SET credits_burned = credits_applied;

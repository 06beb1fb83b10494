-- The whole billing period an invoice's period belongs to (rating's InvoicePreview.nominal_period):
-- a partial period (the first CALENDAR period of a subscription starting mid-period, the last of one
-- canceled mid-period) prorates its recurring fee, minimums and maximums against this length, and
-- reconciliation re-derives them the same way. Null for invoices priced before rating reported it
-- (their period was priced as whole) and for final adjustments invoices.
ALTER TABLE invoices ADD COLUMN nominal_period_start timestamptz, ADD COLUMN nominal_period_end timestamptz;

-- The W3C trace context of the period close that created each invoice: InvoiceFinalized carries
-- it on (to payments), so one trace id spans period close → invoice → payment. Null for invoices
-- created before it was kept. Trace context, not billing data: numbered apart from the billing
-- schema's own sequence.
ALTER TABLE invoices ADD COLUMN traceparent text;

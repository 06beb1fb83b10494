-- The W3C trace of the collection that started an attempt (the invoice's period close, a
-- ChargeInvoice call, a dunning retry). Its outcome's events continue that trace whichever path
-- records them: the provider's response, a webhook that came first, or the sweep's replay.
ALTER TABLE attempts ADD COLUMN traceparent text;

-- Each billing's stored projection (#15): what ForecastRevenue sums instead of projecting every
-- subscription on the request path. One row per (subscription, period) that was projected: every
-- live subscription's open period (kept by the projection refresher), and any other period a
-- window asked for. A row is used only while it is fresh:
--   inputs       = md5 of what the projection rests on, computed in SQL by projection-store.ts
--                  (the subscription's terms: segments, phases, zone, anchor, start, cancel; and every segment_usage row of the period:
--                  segment, plan, component, value, quantity); new usage or a plan change makes
--                  it differ from the current one;
--   fresh_until  = the end of the day (in the subscription's period grid) it was projected in:
--                  a day boundary adds a whole day of history and moves the elapsed point.
-- Amounts at the storage scale (12 places), as the on-demand path rounds them too.
CREATE TABLE billing_projection (
  subscription_id  text NOT NULL,
  period_start     timestamptz NOT NULL,
  period_end       timestamptz NOT NULL,
  inputs           text NOT NULL,
  as_of            timestamptz NOT NULL,
  fresh_until      timestamptz NOT NULL,
  amount_to_date   NUMERIC(38,12) NOT NULL,
  p10              NUMERIC(38,12) NOT NULL,
  p50              NUMERIC(38,12) NOT NULL,
  p90              NUMERIC(38,12) NOT NULL,
  PRIMARY KEY (subscription_id, period_start)
);

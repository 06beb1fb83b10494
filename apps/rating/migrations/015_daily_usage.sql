-- Daily usage per (subscription, component, dimension value), the history forecasts read (#15).
-- A "day" is a day of the period's grid in the subscription's time zone (@tally/forecasting
-- dayGrid: local midnight to local midnight for calendar periods, the anchor's local time for
-- anniversary ones; 23 or 25 hours across DST). `day_start` is its first instant. Only COUNT and
-- SUM components are kept: their daily quantities add up to the period's. Maintained in the same
-- transaction that rates the events (after their ids are claimed), so each event counts once.
-- Usage rated before this migration has no daily rows: history starts when it is applied.
CREATE TABLE daily_usage (
  subscription_id  text NOT NULL,
  component_key    text NOT NULL,
  dimension_value  text NOT NULL,
  day_start        timestamptz NOT NULL,
  quantity         NUMERIC(38,12) NOT NULL,
  PRIMARY KEY (subscription_id, component_key, dimension_value, day_start)
) WITH (fillfactor = 70);

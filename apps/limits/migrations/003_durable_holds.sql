-- Holds are durable before they are reported (issue: hard-cap overshoot after
-- a Postgres crash). Migration 002 committed the fast path's batch of holds
-- with synchronous_commit off: a crash could lose holds already reported to
-- their callers, and the room was then granted again (906 holds for a room of
-- 900). A reported hold must survive a crash, so the batch now commits with
-- the server's synchronous_commit (on by default) like every other write. The
-- speed comes from group commit instead: the service coalesces concurrent
-- reserving Checks into one call of this function, one transaction and one
-- WAL flush per batch (see CheckService and its Coalescer).
--
-- Same body as in 002, without the set_config('synchronous_commit', 'off'),
-- and with a lock_timeout: a batch that cannot get its row locks within
-- 1 s (the service's LOCK_WAIT_MS, check-admission.ts) fails with
-- lock_not_available (55P03) instead of waiting, and the service refuses its
-- Checks as overloaded (RESOURCE_EXHAUSTED, nothing held) well within their
-- callers' deadlines. A Check that outlives its deadline is cancelled by the
-- client with an HTTP/2 RST_STREAM, and many of those make the server close
-- the whole connection (see check-overload.spec.ts).

CREATE OR REPLACE FUNCTION reserve_many_if_unchanged(
  p_customers text[], p_meters text[], p_nows timestamptz[], p_since timestamptz, p_wides boolean[],
  p_periods timestamptz[], p_units numeric[], p_meter_spends numeric[], p_total_spends numeric[],
  p_max_held_units numeric[], p_max_held_meter_costs numeric[], p_max_held_total_costs numeric[], p_balances numeric[],
  p_ids text[], p_quantities numeric[], p_costs numeric[], p_expires timestamptz[], p_keys text[], p_responses jsonb[]
) RETURNS TABLE (ord integer, outcome text, previous jsonb) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  i integer;
  n integer := coalesce(array_length(p_customers, 1), 0);
  v_locked boolean[] := '{}';
BEGIN
  PERFORM set_config('lock_timeout', '1s', true);
  -- The locks first, item after item in the order given (as lock_for_check takes them).
  FOR i IN 1 .. n LOOP
    PERFORM 1 FROM meter_usage mu
      WHERE mu.customer_id = p_customers[i] AND mu.meter_key = p_meters[i] AND mu.period_start = p_periods[i] FOR NO KEY UPDATE;
    v_locked[i] := FOUND;
    IF FOUND AND p_wides[i] THEN
      PERFORM 1 FROM customers c WHERE c.customer_id = p_customers[i] FOR UPDATE;
    END IF;
  END LOOP;
  -- Then one statement, so one snapshot taken after every lock was granted, re-reads all positions,
  -- decides each item (see above) and inserts the holds. An item's re-check counts
  -- the holds of the items before it in this batch on the same (customer, meter) — and, for the total
  -- cost, the same customer — whether or not they end up inserted (conservative: at worst such an
  -- item goes to the slow path). A second item with an idempotency key already used earlier in the
  -- batch goes to the slow path too (which then finds the first one's answer).
  RETURN QUERY
  WITH q AS (
    SELECT t.*, t.o::integer AS ord, v_locked[t.o] AS locked,
           coalesce(sum(t.quantity) OVER (PARTITION BY t.customer, t.meter ORDER BY t.o ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS prior_units,
           coalesce(sum(t.cost) OVER (PARTITION BY t.customer, t.meter ORDER BY t.o ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS prior_meter_cost,
           coalesce(sum(t.cost) OVER (PARTITION BY t.customer ORDER BY t.o ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS prior_total_cost,
           t.key <> '' AND row_number() OVER (PARTITION BY t.customer, t.key ORDER BY t.o) > 1 AS repeated_key
    FROM unnest(p_customers, p_meters, p_nows, p_periods, p_units, p_meter_spends, p_total_spends, p_max_held_units,
                p_max_held_meter_costs, p_max_held_total_costs, p_balances, p_ids, p_quantities, p_costs, p_expires, p_keys, p_responses)
         WITH ORDINALITY AS t(customer, meter, now, period, units, meter_spend, total_spend, max_held_units, max_held_meter_cost,
                              max_held_total_cost, balance, id, quantity, cost, expire, key, response, o)
  ), d AS (
    SELECT q.*, r.previous AS seen_previous,
           CASE
             WHEN NOT q.locked OR q.repeated_key THEN 'stale'
             WHEN r.previous IS NOT NULL THEN 'duplicate'
             WHEN coalesce(r.status IS DISTINCT FROM 'active' OR r.period_start IS DISTINCT FROM q.period
                  OR r.units::numeric <> q.units OR r.meter_spend::numeric <> q.meter_spend OR r.total_spend::numeric <> q.total_spend
                  OR r.held_units::numeric + q.prior_units > q.max_held_units
                  OR r.held_meter_cost::numeric + q.prior_meter_cost > q.max_held_meter_cost
                  OR r.held_total_cost::numeric + q.prior_total_cost > q.max_held_total_cost
                  OR r.balance::numeric < q.balance, false) THEN 'stale'
             ELSE 'reserved'
           END AS decided
    FROM q CROSS JOIN LATERAL check_position(q.customer, q.meter, q.now, q.key, p_since) r
  ), held AS (
    INSERT INTO reservations (reservation_id, customer_id, meter_key, period_start, quantity, cost, settled, status, create_time, expire_time)
      SELECT d.id, d.customer, d.meter, d.period, d.quantity, d.cost, 0, 'active', d.now, d.expire FROM d WHERE d.decided = 'reserved'
      ORDER BY d.ord
  ), answered AS (
    INSERT INTO check_idempotency (customer_id, idempotency_key, response, create_time)
      SELECT d.customer, d.key, d.response, d.now FROM d WHERE d.decided = 'reserved' AND d.key <> '' ORDER BY d.ord
      ON CONFLICT (customer_id, idempotency_key) DO UPDATE SET response = EXCLUDED.response, create_time = EXCLUDED.create_time
  )
  SELECT d.ord, d.decided, CASE WHEN d.decided = 'duplicate' THEN d.seen_previous END FROM d;
END $$;

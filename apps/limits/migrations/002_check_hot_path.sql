-- The Check hot path, in SQL functions so that each Check (or batch of
-- Checks) costs one round trip.

-- check_position: everything a Check decides on — the customer's
-- subscription, candidate limits, counted usage of the meter and in total,
-- active holds (a hold past expire_time counts for nothing, whatever its
-- stored status), usable credit and, with a key, a previous idempotent
-- answer. Total held spend and credit are summed only when prepaid credits or
-- a total-spend limit need them (otherwise 0).
--
-- LANGUAGE sql and STABLE so the planner inlines it into the calling
-- statement (a plpgsql wrapper measured 5x slower). It reads with the calling
-- statement's snapshot: callers that need to see everything committed before
-- a lock call it in a statement issued after the lock was granted.
--
-- It also returns the meter's segment quantities when a cost is needed (a
-- SPEND limit or prepaid credits), so that a Check prices its marginal cost
-- without a second statement: one statement per Check.
CREATE FUNCTION check_position(p_customer text, p_meter text, p_now timestamptz, p_key text, p_since timestamptz)
RETURNS TABLE (
  customer_id text, subscription_id text, plan_key text, plan_version integer, status text,
  period_start timestamptz, period_end timestamptz, revision text, prepaid_only boolean, depleted boolean,
  limits json, units text, meter_spend text, total_spend text, held_units text, held_meter_cost text,
  held_total_cost text, balance text, previous jsonb, segments json
) LANGUAGE sql STABLE AS $$
SELECT c.customer_id, c.subscription_id, c.plan_key, c.plan_version, c.status, c.period_start, c.period_end,
       c.revision::text, c.prepaid_only, c.depleted,
       lim.limits,
       coalesce(mu.quantity, 0)::text, coalesce(mu.spend, 0)::text,
       coalesce(tot.spend, 0)::text,
       coalesce(h.units, 0)::text, coalesce(h.cost, 0)::text,
       coalesce(ht.cost, 0)::text,
       coalesce(g.balance, 0)::text,
       prev.response,
       seg.segments
FROM (SELECT 1) one
LEFT JOIN customers c ON c.customer_id = p_customer
LEFT JOIN LATERAL (
  SELECT coalesce(json_agg(json_build_object('limit_id', l.limit_id, 'plan_key', l.plan_key, 'customer_id', l.customer_id,
           'meter_key', l.meter_key, 'kind', l.kind, 'measure', l.measure, 'value', l.value::text, 'currency', l.currency,
           'alerts', l.alerts)), '[]') AS limits,
         bool_or(l.measure = 'spend' AND l.meter_key = '') AS has_total_spend,
         bool_or(l.measure = 'spend') AS has_spend
  FROM limits l WHERE (l.customer_id = p_customer OR l.plan_key = c.plan_key) AND (l.meter_key = p_meter OR (l.measure = 'spend' AND l.meter_key = ''))
) lim ON true
LEFT JOIN meter_usage mu ON mu.customer_id = p_customer AND mu.meter_key = p_meter AND mu.period_start = c.period_start
LEFT JOIN LATERAL (
  SELECT sum(m.spend) AS spend FROM meter_usage m
  WHERE m.customer_id = p_customer AND m.period_start = c.period_start AND lim.has_total_spend
) tot ON true
LEFT JOIN LATERAL (
  SELECT sum(r.quantity - r.settled) AS units,
         sum(CASE WHEN r.quantity = 0 THEN 0 ELSE r.cost * (r.quantity - r.settled) / r.quantity END) AS cost
  FROM reservations r
  WHERE r.customer_id = p_customer AND r.meter_key = p_meter AND r.period_start = c.period_start
    AND r.status IN ('active', 'committed') AND r.expire_time > p_now
) h ON true
LEFT JOIN LATERAL (
  -- Held spend on any meter: needed only for a total-spend limit or prepaid credits.
  SELECT sum(CASE WHEN r.quantity = 0 THEN 0 ELSE r.cost * (r.quantity - r.settled) / r.quantity END) AS cost
  FROM reservations r
  WHERE r.customer_id = p_customer AND r.period_start = c.period_start
    AND r.status IN ('active', 'committed') AND r.expire_time > p_now AND (c.prepaid_only OR lim.has_total_spend)
) ht ON true
LEFT JOIN LATERAL (
  -- Usable credit: effective, open, unexpired grants (one not yet booked as GRANT counts in full).
  SELECT sum(CASE WHEN gr.credited THEN gr.remaining ELSE gr.amount END) AS balance FROM grants gr
  WHERE gr.customer_id = p_customer AND gr.closed IS NULL AND gr.effective_time <= p_now
    AND (gr.expire_time IS NULL OR gr.expire_time > p_now) AND c.prepaid_only
) g ON true
LEFT JOIN check_idempotency prev
  ON p_key <> '' AND prev.customer_id = p_customer AND prev.idempotency_key = p_key AND prev.create_time >= p_since
LEFT JOIN LATERAL (
  -- The meter's segment quantities per (component, dimension value), to price the marginal cost:
  -- read only when a SPEND limit or prepaid credits need a cost (NULL otherwise).
  SELECT CASE WHEN c.prepaid_only OR lim.has_spend
              THEN coalesce(json_agg(json_build_array(ra.component_key, ra.dimension_value, ra.quantity::text)), '[]') END AS segments
  FROM running_amounts ra
  WHERE ra.customer_id = p_customer AND ra.meter_key = p_meter AND ra.period_start = c.period_start
    AND (c.prepaid_only OR lim.has_spend)
) seg ON true
$$;

-- check_position for many Checks in one statement; one row per input, tagged with its ordinal.
CREATE FUNCTION check_position_many(p_customers text[], p_meters text[], p_keys text[], p_now timestamptz, p_since timestamptz)
RETURNS TABLE (ord bigint,
  customer_id text, subscription_id text, plan_key text, plan_version integer, status text,
  period_start timestamptz, period_end timestamptz, revision text, prepaid_only boolean, depleted boolean,
  limits json, units text, meter_spend text, total_spend text, held_units text, held_meter_cost text,
  held_total_cost text, balance text, previous jsonb, segments json
) LANGUAGE sql STABLE AS $$
  SELECT q.ord, c.*
  FROM unnest(p_customers, p_meters, p_keys) WITH ORDINALITY AS q(customer, meter, key, ord)
  CROSS JOIN LATERAL check_position(q.customer, q.meter, p_now, q.key, p_since) c
$$;


-- check_position_many for the small batches of a busy Check path (a few
-- Checks each). Called directly, a statement is planned for its parameters
-- every time (the plan cache keeps choosing custom plans, which fold the
-- idempotency key and the array sizes): ≈ 0.6 ms of planning per statement,
-- 2–3x the execution of a batch of 5. Through plpgsql with a forced generic
-- plan it is planned once per session. Large batches (refreshes) gain nothing
-- from this and call check_position_many.
CREATE FUNCTION check_position_few(p_customers text[], p_meters text[], p_keys text[], p_now timestamptz, p_since timestamptz)
RETURNS TABLE (ord bigint,
  customer_id text, subscription_id text, plan_key text, plan_version integer, status text,
  period_start timestamptz, period_end timestamptz, revision text, prepaid_only boolean, depleted boolean,
  limits json, units text, meter_spend text, total_spend text, held_units text, held_meter_cost text,
  held_total_cost text, balance text, previous jsonb, segments json
) LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  RETURN QUERY SELECT * FROM check_position_many(p_customers, p_meters, p_keys, p_now, p_since);
END $$;

-- The serialization point of a reserving Check, inside the caller's
-- transaction: creates-or-locks the meter_usage row of (customer, meter,
-- current period) and, when prepaid credits or a total-spend limit are
-- involved, then the customer row (always in that order; the usage projector
-- takes the same order). Returns the locked period, NULL without an ACTIVE
-- subscription (nothing locked then).
CREATE FUNCTION lock_for_check(p_customer text, p_meter text) RETURNS timestamptz LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_period timestamptz;
  v_wide boolean;
BEGIN
  SELECT c.period_start,
         c.prepaid_only OR EXISTS (SELECT 1 FROM limits l WHERE (l.customer_id = p_customer OR l.plan_key = c.plan_key)
                                     AND l.measure = 'spend' AND l.meter_key = '')
    INTO v_period, v_wide
    FROM customers c WHERE c.customer_id = p_customer AND c.status = 'active' AND c.period_start IS NOT NULL;
  IF v_period IS NULL THEN
    RETURN NULL;
  END IF;
  -- A row lock, not an upsert: locking an existing row writes far less than updating it.
  PERFORM 1 FROM meter_usage mu
    WHERE mu.customer_id = p_customer AND mu.meter_key = p_meter AND mu.period_start = v_period FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    INSERT INTO meter_usage (customer_id, meter_key, period_start) VALUES (p_customer, p_meter, v_period) ON CONFLICT DO NOTHING;
    PERFORM 1 FROM meter_usage mu
      WHERE mu.customer_id = p_customer AND mu.meter_key = p_meter AND mu.period_start = v_period FOR NO KEY UPDATE;
  END IF;
  IF v_wide THEN
    PERFORM 1 FROM customers c WHERE c.customer_id = p_customer FOR UPDATE;
  END IF;
  RETURN v_period;
END $$;

-- reserve_if_unchanged: the fast path of a reserving Check.
--
-- The service reads the position without a lock (check_position), decides in
-- TypeScript, and, when allowed, calls this with what it saw and the largest
-- holds under which its decision stays allowed (domain holdBounds; NULL = no
-- bound). Under the same locks as the slow path it re-reads the position with
-- a fresh snapshot and inserts the hold only if: the same active period, the
-- same counted usage and spend (the marginal cost depends on them), no less
-- credit, and holds within the bounds. Every hard-cap and credit rule is
-- monotone in those values, so the decision still holds.
-- Otherwise it returns 'stale' and the service decides again under the lock
-- (the slow path). 'duplicate' returns the answer stored for the
-- idempotency key by a concurrent retry.
CREATE FUNCTION reserve_if_unchanged(
  p_customer text, p_meter text, p_now timestamptz, p_since timestamptz, p_wide boolean,
  p_period timestamptz, p_units numeric, p_meter_spend numeric, p_total_spend numeric,
  p_max_held_units numeric, p_max_held_meter_cost numeric, p_max_held_total_cost numeric, p_balance numeric,
  p_id text, p_quantity numeric, p_cost numeric, p_expire timestamptz, p_key text, p_response jsonb
) RETURNS TABLE (outcome text, previous jsonb) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  r record;
BEGIN
  PERFORM 1 FROM meter_usage mu
    WHERE mu.customer_id = p_customer AND mu.meter_key = p_meter AND mu.period_start = p_period FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'stale'::text, NULL::jsonb;
    RETURN;
  END IF;
  IF p_wide THEN
    PERFORM 1 FROM customers c WHERE c.customer_id = p_customer FOR UPDATE;
  END IF;
  -- A new statement: a snapshot taken after the locks were granted.
  SELECT * INTO r FROM check_position(p_customer, p_meter, p_now, p_key, p_since);
  IF r.previous IS NOT NULL THEN
    RETURN QUERY SELECT 'duplicate'::text, r.previous;
    RETURN;
  END IF;
  IF r.status IS DISTINCT FROM 'active' OR r.period_start IS DISTINCT FROM p_period
     OR r.units::numeric <> p_units OR r.meter_spend::numeric <> p_meter_spend OR r.total_spend::numeric <> p_total_spend
     OR r.held_units::numeric > p_max_held_units OR r.held_meter_cost::numeric > p_max_held_meter_cost
     OR r.held_total_cost::numeric > p_max_held_total_cost OR r.balance::numeric < p_balance THEN
    RETURN QUERY SELECT 'stale'::text, NULL::jsonb;
    RETURN;
  END IF;
  INSERT INTO reservations (reservation_id, customer_id, meter_key, period_start, quantity, cost, settled, status, create_time, expire_time)
    VALUES (p_id, p_customer, p_meter, p_period, p_quantity, p_cost, 0, 'active', p_now, p_expire);
  IF p_key <> '' THEN
    INSERT INTO check_idempotency (customer_id, idempotency_key, response, create_time) VALUES (p_customer, p_key, p_response, p_now)
      ON CONFLICT (customer_id, idempotency_key) DO UPDATE SET response = EXCLUDED.response, create_time = EXCLUDED.create_time;
  END IF;
  RETURN QUERY SELECT 'reserved'::text, NULL::jsonb;
END $$;

-- Many fast-path reservations in one transaction, in the order given. The
-- caller sorts them by (customer, meter), so concurrent batches take their
-- row locks in one global order and cannot deadlock each other.
--
-- Holds are short-lived (TTL) and ephemeral: the fast path's batch of holds
-- commits without waiting for its WAL flush (synchronous_commit off, for this
-- transaction only). Crash-safe and consistent: a Postgres crash can lose the
-- last few hundred milliseconds of committed holds (with their idempotent
-- answers), never corrupt or double anything. Ledger, credit and limit writes
-- keep synchronous commit. See README, "Durability of holds".
--
-- set_config(..., true) is SET LOCAL: it lasts until the end of the calling
-- statement's (autocommitted) transaction, which is when the setting is read.
CREATE FUNCTION reserve_many_if_unchanged(
  p_customers text[], p_meters text[], p_nows timestamptz[], p_since timestamptz, p_wides boolean[],
  p_periods timestamptz[], p_units numeric[], p_meter_spends numeric[], p_total_spends numeric[],
  p_max_held_units numeric[], p_max_held_meter_costs numeric[], p_max_held_total_costs numeric[], p_balances numeric[],
  p_ids text[], p_quantities numeric[], p_costs numeric[], p_expires timestamptz[], p_keys text[], p_responses jsonb[]
) RETURNS TABLE (ord integer, outcome text, previous jsonb) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  i integer;
  res record;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  FOR i IN 1 .. coalesce(array_length(p_customers, 1), 0) LOOP
    SELECT * INTO res FROM reserve_if_unchanged(
      p_customers[i], p_meters[i], p_nows[i], p_since, p_wides[i], p_periods[i], p_units[i], p_meter_spends[i],
      p_total_spends[i], p_max_held_units[i], p_max_held_meter_costs[i], p_max_held_total_costs[i], p_balances[i], p_ids[i],
      p_quantities[i], p_costs[i], p_expires[i], p_keys[i], p_responses[i]);
    ord := i;
    outcome := res.outcome;
    previous := res.previous;
    RETURN NEXT;
  END LOOP;
END $$;

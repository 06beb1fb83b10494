-- The Check hot path, in SQL functions so that each Check (or batch of
-- Checks) costs one round trip.

-- held_totals: the holds of each (customer, meter, period) summed — units
-- (quantity − settled) and cost (hold_cost) of
-- its ACTIVE and COMMITTED reservations — kept by a trigger in the same
-- transaction as every insert, update and delete of a reservation, so it is
-- always exactly the sum check_position would otherwise compute over the
-- holds (which cost a heap page per hold, twice per reserving Check). Holds
-- past expire_time that the sweeper has not yet marked EXPIRED still count
-- here: check_position subtracts them (a range scan, usually empty).
-- Unconstrained numeric: sums and differences stay exact.
-- The spend a hold still stands for: its cost in proportion to the part of
-- its quantity not yet settled by rated usage. One definition, inlined by the
-- planner wherever a hold's cost is summed.
CREATE FUNCTION hold_cost(p_quantity numeric, p_settled numeric, p_cost numeric) RETURNS numeric
  LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN p_quantity = 0 THEN 0 ELSE p_cost * (p_quantity - p_settled) / p_quantity END $$;

CREATE TABLE held_totals (
  customer_id   text NOT NULL,
  meter_key     text NOT NULL,
  period_start  timestamptz NOT NULL,
  units         numeric NOT NULL DEFAULT 0,
  cost          numeric NOT NULL DEFAULT 0,
  PRIMARY KEY (customer_id, meter_key, period_start)
);

CREATE FUNCTION reservations_held_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status IN ('active', 'committed') THEN
    UPDATE held_totals t
       SET units = t.units - (OLD.quantity - OLD.settled),
           cost = t.cost - hold_cost(OLD.quantity, OLD.settled, OLD.cost)
     WHERE t.customer_id = OLD.customer_id AND t.meter_key = OLD.meter_key AND t.period_start = OLD.period_start;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status IN ('active', 'committed') THEN
    INSERT INTO held_totals AS t (customer_id, meter_key, period_start, units, cost)
      VALUES (NEW.customer_id, NEW.meter_key, NEW.period_start, NEW.quantity - NEW.settled,
              hold_cost(NEW.quantity, NEW.settled, NEW.cost))
      ON CONFLICT (customer_id, meter_key, period_start) DO UPDATE
      SET units = t.units + EXCLUDED.units, cost = t.cost + EXCLUDED.cost;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER reservations_held_totals AFTER INSERT OR UPDATE OR DELETE ON reservations
  FOR EACH ROW EXECUTE FUNCTION reservations_held_totals();

INSERT INTO held_totals (customer_id, meter_key, period_start, units, cost)
  SELECT r.customer_id, r.meter_key, r.period_start, sum(r.quantity - r.settled),
         sum(hold_cost(r.quantity, r.settled, r.cost))
  FROM reservations r WHERE r.status IN ('active', 'committed')
  GROUP BY r.customer_id, r.meter_key, r.period_start;

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
  -- Active holds: the running total (held_totals) less the holds in it already past expire_time.
  SELECT t.units - coalesce(x.units, 0) AS units, t.cost - coalesce(x.cost, 0) AS cost
  FROM held_totals t
  LEFT JOIN LATERAL (
    SELECT sum(r.quantity - r.settled) AS units,
           sum(hold_cost(r.quantity, r.settled, r.cost)) AS cost
    FROM reservations r
    WHERE r.customer_id = p_customer AND r.meter_key = p_meter AND r.period_start = c.period_start
      AND r.status IN ('active', 'committed') AND r.expire_time <= p_now
  ) x ON true
  WHERE t.customer_id = p_customer AND t.meter_key = p_meter AND t.period_start = c.period_start
) h ON true
LEFT JOIN LATERAL (
  -- Held spend on any meter: needed only for a total-spend limit or prepaid credits.
  SELECT (SELECT sum(t.cost) FROM held_totals t WHERE t.customer_id = p_customer AND t.period_start = c.period_start)
         - coalesce((SELECT sum(hold_cost(r.quantity, r.settled, r.cost))
                     FROM reservations r
                     WHERE r.customer_id = p_customer AND r.period_start = c.period_start
                       AND r.status IN ('active', 'committed') AND r.expire_time <= p_now), 0) AS cost
  WHERE c.prepaid_only OR lim.has_total_spend
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

-- reserve_many_if_unchanged: the fast path of reserving Checks, many in one
-- statement and one transaction.
--
-- The service reads each position without a lock (check_position), decides in
-- TypeScript, and, when allowed, passes what it saw and the largest holds
-- under which its decision stays allowed (domain holdBounds; NULL = no bound).
-- Under the same locks as the slow path (the meter_usage row, then the
-- customer row when customer-wide) it re-reads the positions with a fresh
-- snapshot and inserts a hold only if: the same active period, the same
-- counted usage and spend (the marginal cost depends on them), no less
-- credit, and holds within the bounds. Every hard-cap and credit rule is
-- monotone in those values, so the decision still holds.
-- Otherwise the item is 'stale' and the service decides again under the lock
-- (the slow path). 'duplicate' returns the answer stored for the
-- idempotency key by a concurrent retry.
--
-- The caller sorts the items by (customer, meter), so concurrent batches take
-- their row locks in one global order and cannot deadlock each other. All
-- locks are taken first (a loop of cheap row locks), then one statement
-- re-reads every position, decides and inserts all holds: per item that
-- replaced a plpgsql call, a re-read statement and one or two INSERT
-- statements (measured ≈ 10% more batches/s alone; the large gain is
-- held_totals above).
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
  n integer := coalesce(array_length(p_customers, 1), 0);
  v_locked boolean[] := '{}';
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
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

-- Holds are short-lived (TTL) and ephemeral: the fast path's batch of holds
-- commits without waiting for its WAL flush (synchronous_commit off, for this
-- transaction only). Crash-safe and consistent: a Postgres crash can lose the
-- last few hundred milliseconds of committed holds (with their idempotent
-- answers), never corrupt or double anything. Ledger, credit and limit writes
-- keep synchronous commit. See README, "Durability of holds".
--
-- set_config(..., true) is SET LOCAL: it lasts until the end of the calling
-- statement's (autocommitted) transaction, which is when the setting is read.
CREATE OR REPLACE FUNCTION reserve_many_if_unchanged(
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

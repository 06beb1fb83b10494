-- Rollups are no longer upserted by every ingest transaction. Each one stores the rollup deltas
-- of the events it accepted as ONE row here, in the same transaction as the events (so a delta
-- exists exactly when its events do), and a fold adds the pending rows to usage_rollup and
-- usage_unique_values and deletes them, in one transaction (so each is added exactly once).
-- Upserting every transaction's deltas cost Postgres ≈ 10 µs per event with 100-event batches
-- from 1,000 customers (one rollup row update per event and meter); a fold every second
-- touches each row once per second instead. QueryUsage folds what is pending before it reads.
--
-- rollups / unique_values: JSON arrays in the shape of rollupRows / uniqueValueRows
-- (adapter/rollup-store.ts). Kept as text: written once, read at most once (only when the
-- instance that wrote them could not fold them from memory), then deleted.
CREATE TABLE rollup_pending (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  rollups       text NOT NULL,
  unique_values text NOT NULL
);
-- Uncompressed: no pglz attempt over each row on its way in (most are never read back).
ALTER TABLE rollup_pending ALTER COLUMN rollups SET STORAGE EXTERNAL;
ALTER TABLE rollup_pending ALTER COLUMN unique_values SET STORAGE EXTERNAL;

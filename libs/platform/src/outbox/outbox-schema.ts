import type { Migration } from "../postgres/migrations";

/**
 * Version 0 of every service schema. Rows are written in the same transaction
 * as the change they announce and deleted once JetStream has acked them.
 */
export const OUTBOX_MIGRATION: Migration = {
  version: 0,
  name: "platform_outbox",
  sql: `CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    subject text NOT NULL,
    msg_id text NOT NULL,
    payload bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
};

/**
 * The platform's second migration, numbered far above any service's own: the W3C trace
 * context of the call that wrote each row, sent on as the NATS `traceparent` header.
 */
export const OUTBOX_TRACEPARENT_MIGRATION: Migration = {
  version: 100_000,
  name: "platform_outbox_traceparent",
  sql: `ALTER TABLE outbox ADD COLUMN traceparent text`,
};

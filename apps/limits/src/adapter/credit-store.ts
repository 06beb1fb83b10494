import { Decimal } from "@tally/pricing";
import type { GrantState, Movement } from "../domain/credit-ledger";
import { newId } from "../domain/ids";
import type { CreditGrant, LedgerEntry, LedgerEntryKind } from "../domain/types";
import type { Queryable } from "./queryable";

interface GrantRow {
  grant_id: string;
  customer_id: string;
  currency: string;
  amount: string;
  credits: string;
  credit_rate: string;
  priority: number;
  effective_time: Date;
  expire_time: Date | null;
  idempotency_key: string;
  description: string;
  remaining: string;
  burned: string;
  credited: boolean;
  closed: "expired" | "voided" | null;
  create_time: Date;
  void_time: Date | null;
  void_reason: string;
  request_hash: string;
}

const COLUMNS = `grant_id, customer_id, currency, amount::text, credits, credit_rate, priority, effective_time, expire_time,
  idempotency_key, description, remaining::text, burned::text, credited, closed, create_time, void_time, void_reason, request_hash`;

export interface StoredGrant extends CreditGrant {
  burned: Decimal;
  requestHash: string;
}

function toGrant(r: GrantRow): StoredGrant {
  return {
    id: r.grant_id,
    customerId: r.customer_id,
    currency: r.currency,
    amount: new Decimal(r.amount),
    credits: r.credits,
    creditRate: r.credit_rate,
    priority: r.priority,
    effectiveTime: r.effective_time,
    expireTime: r.expire_time,
    idempotencyKey: r.idempotency_key,
    description: r.description,
    remaining: new Decimal(r.remaining),
    burned: new Decimal(r.burned),
    credited: r.credited,
    closed: r.closed,
    createTime: r.create_time,
    voidTime: r.void_time,
    voidReason: r.void_reason,
    requestHash: r.request_hash,
  };
}

export function toGrantState(g: StoredGrant): GrantState {
  return {
    id: g.id,
    priority: g.priority,
    effectiveTime: g.effectiveTime,
    expireTime: g.expireTime,
    createTime: g.createTime,
    amount: g.amount,
    remaining: g.remaining,
    burned: g.burned,
    credited: g.credited,
    closed: g.closed,
  };
}

export async function customerGrants(db: Queryable, customerId: string): Promise<StoredGrant[]> {
  const { rows } = await db.query<GrantRow>(`SELECT ${COLUMNS} FROM grants WHERE customer_id = $1 ORDER BY create_time, grant_id`, [customerId]);
  return rows.map(toGrant);
}

export async function findGrant(db: Queryable, grantId: string): Promise<StoredGrant | undefined> {
  const { rows } = await db.query<GrantRow>(`SELECT ${COLUMNS} FROM grants WHERE grant_id = $1`, [grantId]);
  return rows[0] && toGrant(rows[0]);
}

export async function findGrantByKey(db: Queryable, customerId: string, key: string): Promise<StoredGrant | undefined> {
  const { rows } = await db.query<GrantRow>(`SELECT ${COLUMNS} FROM grants WHERE customer_id = $1 AND idempotency_key = $2`, [customerId, key]);
  return rows[0] && toGrant(rows[0]);
}

export async function insertGrant(db: Queryable, g: StoredGrant): Promise<void> {
  await db.query(
    `INSERT INTO grants (grant_id, customer_id, currency, amount, credits, credit_rate, priority, effective_time, expire_time,
       idempotency_key, description, remaining, burned, credited, closed, create_time, void_time, void_reason, request_hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, 0, false, NULL, $12, NULL, '', $13)`,
    [
      g.id, g.customerId, g.currency, g.amount.toFixed(), g.credits, g.creditRate, g.priority, g.effectiveTime, g.expireTime,
      g.idempotencyKey, g.description, g.createTime, g.requestHash,
    ],
  );
}

/** Writes the ledger's new grant states back (only the fields the ledger changes). */
export async function saveGrantStates(db: Queryable, states: readonly GrantState[], voided?: { grantId: string; time: Date; reason: string }): Promise<void> {
  if (states.length === 0) return;
  await db.query(
    `UPDATE grants g SET remaining = s.remaining, burned = s.burned, credited = s.credited, closed = s.closed
     FROM unnest($1::text[], $2::numeric[], $3::numeric[], $4::boolean[], $5::text[]) AS s(id, remaining, burned, credited, closed)
     WHERE g.grant_id = s.id`,
    [
      states.map((s) => s.id),
      states.map((s) => s.remaining.toFixed()),
      states.map((s) => s.burned.toFixed()),
      states.map((s) => s.credited),
      states.map((s) => s.closed),
    ],
  );
  if (voided) {
    await db.query("UPDATE grants SET void_time = $2, void_reason = $3 WHERE grant_id = $1", [voided.grantId, voided.time, voided.reason]);
  }
}

/** Appends movements as immutable ledger entries. */
export async function appendEntries(db: Queryable, customerId: string, currency: string, movements: readonly Movement[], now: Date): Promise<void> {
  if (movements.length === 0) return;
  await db.query(
    `INSERT INTO ledger_entries (entry_id, customer_id, grant_id, kind, amount, currency, create_time, source_ref, balance_after)
     SELECT e.id, $1, e.grant_id, e.kind, e.amount, $2, $3, e.source_ref, e.balance_after
     FROM unnest($4::text[], $5::text[], $6::text[], $7::numeric[], $8::text[], $9::numeric[]) WITH ORDINALITY
       AS e(id, grant_id, kind, amount, source_ref, balance_after, n)
     ORDER BY e.n`,
    [
      customerId,
      currency,
      now,
      movements.map(() => newId("led")),
      movements.map((m) => m.grantId),
      movements.map((m) => m.kind),
      movements.map((m) => m.amount.toFixed()),
      movements.map((m) => m.sourceRef),
      movements.map((m) => m.balanceAfter.toFixed()),
    ],
  );
}

interface EntryRow {
  seq_text: string;
  entry_id: string;
  customer_id: string;
  grant_id: string;
  kind: LedgerEntryKind;
  amount: string;
  currency: string;
  create_time: Date;
  source_ref: string;
  balance_after: string;
}

/** Newest first, keyset-paged on the append sequence. */
export async function listEntries(db: Queryable, customerId: string, limit: number, beforeSeq: bigint | null): Promise<{ entries: LedgerEntry[]; lastSeq: bigint | null; more: boolean }> {
  const { rows } = await db.query<EntryRow>(
    `SELECT seq::text AS seq_text, entry_id, customer_id, grant_id, kind, amount::text, currency, create_time, source_ref, balance_after::text
     FROM ledger_entries WHERE customer_id = $1 AND ($2::bigint IS NULL OR seq < $2) ORDER BY seq DESC LIMIT $3`,
    [customerId, beforeSeq?.toString() ?? null, limit + 1],
  );
  const page = rows.slice(0, limit);
  return {
    entries: page.map((r) => ({
      id: r.entry_id,
      customerId: r.customer_id,
      grantId: r.grant_id,
      kind: r.kind,
      amount: new Decimal(r.amount),
      currency: r.currency,
      createTime: r.create_time,
      sourceRef: r.source_ref,
      balanceAfter: new Decimal(r.balance_after),
    })),
    lastSeq: page.length > 0 ? BigInt(page[page.length - 1]!.seq_text) : null,
    more: rows.length > limit,
  };
}

/** Records the application of one rated spend change (the idempotency record of burns). */
export async function recordSpendApplication(
  db: Queryable,
  a: { sourceRef: string; customerId: string; delta: Decimal; burned: Decimal; overage: Decimal; now: Date },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO spend_applications (source_ref, customer_id, delta, burned, overage, create_time) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT DO NOTHING`,
    [a.sourceRef, a.customerId, a.delta.toFixed(), a.burned.toFixed(), a.overage.toFixed(), a.now],
  );
  return (rowCount ?? 0) > 0;
}

/** Which of these rated spend changes were already applied (one statement for a customer's batch). */
export async function appliedSourceRefs(db: Queryable, sourceRefs: readonly string[]): Promise<Set<string>> {
  if (sourceRefs.length === 0) return new Set();
  const { rows } = await db.query<{ source_ref: string }>("SELECT source_ref FROM spend_applications WHERE source_ref = ANY($1::text[])", [sourceRefs]);
  return new Set(rows.map((r) => r.source_ref));
}

/** Records the applications of rated spend changes in one statement (see {@link recordSpendApplication}). */
export async function recordSpendApplications(
  db: Queryable,
  now: Date,
  records: readonly { sourceRef: string; customerId: string; delta: Decimal; burned: Decimal; overage: Decimal }[],
): Promise<void> {
  if (records.length === 0) return;
  await db.query(
    `INSERT INTO spend_applications (source_ref, customer_id, delta, burned, overage, create_time)
     SELECT r.source_ref, r.customer_id, r.delta, r.burned, r.overage, $1
     FROM unnest($2::text[], $3::text[], $4::numeric[], $5::numeric[], $6::numeric[]) AS r(source_ref, customer_id, delta, burned, overage)
     ON CONFLICT DO NOTHING`,
    [now, records.map((r) => r.sourceRef), records.map((r) => r.customerId), records.map((r) => r.delta.toFixed()), records.map((r) => r.burned.toFixed()), records.map((r) => r.overage.toFixed())],
  );
}

/** {@link customerGrants} for many customers in one statement (customers without grants are absent). */
export async function customerGrantsOfMany(db: Queryable, customerIds: readonly string[]): Promise<Map<string, StoredGrant[]>> {
  const out = new Map<string, StoredGrant[]>();
  if (customerIds.length === 0) return out;
  const { rows } = await db.query<GrantRow>(`SELECT ${COLUMNS} FROM grants WHERE customer_id = ANY($1::text[]) ORDER BY customer_id, create_time, grant_id`, [customerIds]);
  for (const r of rows) {
    const g = toGrant(r);
    const list = out.get(g.customerId) ?? [];
    list.push(g);
    out.set(g.customerId, list);
  }
  return out;
}

/** Customers with a grant that became effective or expired and was not yet booked. */
export async function customersDueForCatchUp(db: Queryable, now: Date, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ customer_id: string }>(
    `SELECT DISTINCT customer_id FROM grants
     WHERE closed IS NULL AND ((NOT credited AND effective_time <= $1) OR (expire_time IS NOT NULL AND expire_time <= $1))
     LIMIT $2`,
    [now, limit],
  );
  return rows.map((r) => r.customer_id);
}

import { createHash } from "node:crypto";
import {
  AlreadyExistsError,
  enqueue,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  Violations,
  withTransaction,
  type Clock,
  type OutboxMessage,
  type Pool,
  type PoolClient,
} from "@tally/platform";
import { Decimal } from "@tally/pricing";
import * as customers from "../adapter/customer-store";
import * as credits from "../adapter/credit-store";
import type { StoredGrant } from "../adapter/credit-store";
import { CreditLedger, grantStatus, type Movement } from "../domain/credit-ledger";
import { validateGrant, type GrantInput } from "../domain/grant-validation";
import { newId } from "../domain/ids";
import { positionVersions } from "./position-cache";
import { RULES } from "../domain/rules";
import type { CreditGrant, CustomerState, GrantStatus, LedgerEntry } from "../domain/types";
import { creditsDepletedMessage, creditsGrantedMessage } from "./events";
import { encodeToken, page } from "./paging";

export interface BalanceView {
  customerId: string;
  currency: string;
  balance: Decimal;
  reserved: Decimal;
  available: Decimal;
  prepaidOnly: boolean;
  depleted: boolean;
  /** PENDING and ACTIVE grants, in burn order. */
  grants: { grant: CreditGrant; status: GrantStatus }[];
}

/** A rated spend change to apply to a customer's credits. */
export interface SpendChange {
  sourceRef: string;
  delta: Decimal;
}

/**
 * Credits: grants, the immutable ledger, burns. Every change of a customer's
 * credits happens under that customer's row lock, through the pure
 * CreditLedger, which first books what time has done (grants becoming
 * effective, remainders expiring).
 */
export class CreditService {
  constructor(
    private readonly pool: Pool,
    private readonly clock: Clock,
  ) {}

  async grant(input: GrantInput): Promise<{ grant: CreditGrant; status: GrantStatus }> {
    const now = this.clock.now();
    const currency = await this.customerCurrency(input.customerId);
    const valid = validateGrant(input, currency, now);
    const requestHash = createHash("sha256")
      .update(JSON.stringify([valid.currency, valid.amount.toFixed(), valid.credits, valid.creditRate, valid.priority,
        input.effectiveTime?.toISOString() ?? "", valid.expireTime?.toISOString() ?? "", valid.description]))
      .digest("hex");
    const changed = () => positionVersions(this.pool).changed(valid.customerId);
    return withTransaction(this.pool, async (client) => {
      await customers.lockCustomer(client, valid.customerId);
      const existing = await credits.findGrantByKey(client, valid.customerId, valid.idempotencyKey);
      if (existing) {
        if (existing.requestHash !== requestHash) {
          throw new AlreadyExistsError(`idempotency_key "${valid.idempotencyKey}" was used for a different grant (${existing.id})`, "idempotency_conflict");
        }
        return { grant: existing, status: grantStatus(credits.toGrantState(existing)) };
      }
      const grant: StoredGrant = {
        id: newId("grt"),
        ...valid,
        remaining: new Decimal(0),
        burned: new Decimal(0),
        credited: false,
        closed: null,
        createTime: now,
        voidTime: null,
        voidReason: "",
        requestHash,
      };
      await credits.insertGrant(client, grant);
      const ledger = await this.inLedger(client, valid.customerId, now, () => []);
      const state = ledger.all.find((g) => g.id === grant.id)!;
      const status = grantStatus(state);
      await enqueue(client, [creditsGrantedMessage(grant, status, now)]);
      return { grant: { ...grant, remaining: state.remaining, credited: state.credited }, status };
    }).finally(changed);
  }

  async voidGrant(grantId: string, reason: string): Promise<{ grant: CreditGrant; status: GrantStatus }> {
    const v = new Violations();
    if (grantId === "") v.add("grant_id", "is required", "required");
    if (reason.length > RULES.maxDescriptionLength) v.add("reason", `at most ${RULES.maxDescriptionLength} characters`, "too_long");
    v.throwIfAny();
    const found = await credits.findGrant(this.pool, grantId);
    if (!found) throw new NotFoundError("grant", grantId, "grant_not_found");
    const now = this.clock.now();
    await withTransaction(this.pool, async (client) => {
      await this.inLedger(client, found.customerId, now, (ledger) => {
        const state = ledger.all.find((g) => g.id === grantId)!;
        if (state.closed === "expired") throw new FailedPreconditionError(`grant "${grantId}" is EXPIRED`, "grant_expired");
        if (state.closed === "voided") return [];
        return ledger.void(grantId, `void:${grantId}`);
      }, { grantId, time: now, reason });
    }).finally(() => positionVersions(this.pool).changed(found.customerId));
    const after = (await credits.findGrant(this.pool, grantId))!;
    return { grant: after, status: grantStatus(credits.toGrantState(after)) };
  }

  async balance(customerId: string): Promise<BalanceView> {
    if (customerId === "") throw new InvalidArgumentError({ field: "customer_id", message: "is required", code: "required" });
    const now = this.clock.now();
    return withTransaction(this.pool, async (client) => {
      // A read never creates a customer: one limits has not seen has a zero balance.
      const customer = (await customers.findCustomer(client, customerId, true)) ?? {
        customerId,
        prepaidOnly: false,
        period: null,
      };
      const ledger = await this.inLedger(client, customerId, now, () => []);
      const grants = await credits.customerGrants(client, customerId);
      const currency = grants[0]?.currency ?? (await this.customerCurrency(customerId)) ?? "";
      const balance = ledger.balance();
      let reserved = new Decimal(0);
      if (customer.prepaidOnly && customer.period) {
        const { rows } = await client.query<{ s: string }>(
          `SELECT coalesce(sum(hold_cost(quantity, settled, cost)), 0)::text AS s
           FROM reservations WHERE customer_id = $1 AND period_start = $2 AND status IN ('active', 'committed') AND expire_time > $3`,
          [customerId, customer.period.start, now],
        );
        reserved = new Decimal(rows[0]!.s);
      }
      const states = new Map(ledger.all.map((g) => [g.id, g]));
      const open = grants
        .map((g) => {
          const s = states.get(g.id)!;
          return { grant: { ...g, remaining: s.remaining, credited: s.credited, closed: s.closed }, status: grantStatus(s) };
        })
        .filter((x) => x.status === "pending" || x.status === "active")
        .sort((a, b) => compareGrants(a.grant, b.grant));
      return {
        customerId,
        currency,
        balance,
        reserved,
        available: Decimal.max(0, balance.minus(reserved)),
        prepaidOnly: customer.prepaidOnly,
        depleted: balance.isZero() && ledger.everCredited(),
        grants: open,
      };
    });
  }

  async ledger(customerId: string, pageSize: number, pageToken: string): Promise<{ entries: LedgerEntry[]; nextPageToken: string }> {
    const { limit, before } = page(customerId, pageSize, pageToken);
    const result = await credits.listEntries(this.pool, customerId, limit, before);
    return { entries: result.entries, nextPageToken: result.more && result.lastSeq !== null ? encodeToken(result.lastSeq) : "" };
  }

  async setPrepaidOnly(customerId: string, prepaidOnly: boolean): Promise<{ customerId: string; prepaidOnly: boolean }> {
    if (customerId === "") throw new InvalidArgumentError({ field: "customer_id", message: "is required", code: "required" });
    await customers.setPrepaidOnly(this.pool, customerId, prepaidOnly).finally(() => positionVersions(this.pool).changed(customerId));
    return { customerId, prepaidOnly };
  }

  /**
   * Applies rated spend changes of customers, inside the caller's
   * transaction (which applied the running amounts). A positive change burns
   * in burn order; what no grant covers is overage (invoiced as usual, never
   * a negative balance). A negative change first takes back overage, then
   * gives credit back to the grants it was burned from (reverse burn order).
   * Each change is recorded once by its source_ref. One statement per step
   * for all the customers; only customers with grants have a ledger to
   * change, one by one.
   */
  async applySpend(client: PoolClient, changesByCustomer: ReadonlyMap<string, readonly SpendChange[]>, now: Date): Promise<void> {
    const all = [...changesByCustomer.values()].flat();
    const applied = await credits.appliedSourceRefs(client, all.map((c) => c.sourceRef));
    const fresh = new Map<string, SpendChange[]>();
    for (const [customerId, changes] of changesByCustomer) {
      const left = changes.filter((c) => !applied.has(c.sourceRef));
      if (left.length > 0) fresh.set(customerId, left);
    }
    if (fresh.size === 0) return;
    const ids = [...fresh.keys()].sort();
    // Overage and grants are read under the customers' locks (the lock inLedger takes), so each
    // overage delta added below is against the value this transaction keeps.
    const locked = await customers.lockCustomersOverage(client, ids);
    const grantsOf = await credits.customerGrantsOfMany(client, [...locked.keys()]);
    const records: { sourceRef: string; customerId: string; delta: Decimal; burned: Decimal; overage: Decimal }[] = [];
    const overages: { customerId: string; delta: string }[] = [];
    for (const customerId of ids) {
      const row = locked.get(customerId);
      const before = new Decimal(row?.overage ?? "0");
      let overage = before;
      const change = (ledger: CreditLedger) => {
        const out: Movement[] = [];
        for (const c of fresh.get(customerId)!) {
          if (c.delta.gt(0)) {
            const r = ledger.burn(c.delta, c.sourceRef, now);
            out.push(...r.movements);
            overage = overage.plus(r.uncovered);
            records.push({ sourceRef: c.sourceRef, customerId, delta: c.delta, burned: r.burned, overage: r.uncovered });
          } else if (c.delta.lt(0)) {
            const back = c.delta.neg();
            const fromOverage = Decimal.min(back, overage);
            overage = overage.minus(fromOverage);
            const r = ledger.giveBack(back.minus(fromOverage), c.sourceRef, now);
            out.push(...r.movements);
            records.push({ sourceRef: c.sourceRef, customerId, delta: c.delta, burned: r.returned.neg(), overage: fromOverage.neg() });
          }
        }
        return out;
      };
      const grants = grantsOf.get(customerId) ?? [];
      // Without grants the ledger has nothing to book or burn: everything is overage.
      if (row && grants.length > 0) await this.inLedger(client, customerId, now, change, undefined, { customer: row.customer, grants });
      else change(new CreditLedger([]));
      if (row && !overage.eq(before)) overages.push({ customerId, delta: overage.minus(before).toFixed() });
    }
    await customers.addOverages(client, overages);
    await credits.recordSpendApplications(client, now, records);
  }

  /** The sweeper's part: books grants that became effective or expired for up to `limit` customers. */
  async catchUpDue(limit = 100): Promise<number> {
    const now = this.clock.now();
    const due = await credits.customersDueForCatchUp(this.pool, now, limit);
    for (const customerId of due) {
      await withTransaction(this.pool, (client) => this.inLedger(client, customerId, now, () => [])).finally(() => positionVersions(this.pool).changed(customerId));
    }
    return due.length;
  }

  /**
   * Runs `change` on the customer's ledger after booking what time has done,
   * persists grant states and entries, and publishes CreditsDepleted on a
   * transition from a positive balance to zero (a top-up clears the flag).
   * The caller's transaction must hold (or this takes) the customer's lock.
   */
  private async inLedger(
    client: PoolClient,
    customerId: string,
    now: Date,
    change: (ledger: CreditLedger) => Movement[],
    voided?: { grantId: string; time: Date; reason: string },
    /** The customer row and grants when the caller already locked and read them in this transaction. */
    read?: { customer: CustomerState; grants: StoredGrant[] },
  ): Promise<CreditLedger> {
    // Lock before reading the grants: every change of a customer's credits is serialized here.
    // A customer without a row has no grants (granting needs a known customer).
    const customer = read?.customer ?? (await customers.findCustomer(client, customerId, true));
    if (!customer) return new CreditLedger([]);
    const grants = read?.grants ?? (await credits.customerGrants(client, customerId));
    const ledger = new CreditLedger(grants.map(credits.toGrantState));
    const movements = [...ledger.catchUp(now), ...change(ledger)];
    if (movements.length === 0) return ledger;
    const currency = grants[0]?.currency ?? "";
    await credits.saveGrantStates(client, ledger.all, voided);
    await credits.appendEntries(client, customerId, currency, movements, now);
    const balance = ledger.balance();
    const messages: OutboxMessage[] = [];
    if (balance.isZero() && ledger.everCredited() && !customer.depleted) {
      const count = await customers.setDepleted(client, customerId, true);
      messages.push(creditsDepletedMessage(customerId, count, now, now));
    } else if (balance.gt(0) && customer.depleted) {
      await customers.setDepleted(client, customerId, false);
    }
    await enqueue(client, messages);
    return ledger;
  }

  private async customerCurrency(customerId: string): Promise<string | null> {
    const customer = customerId === "" ? undefined : await customers.findCustomer(this.pool, customerId);
    if (!customer?.planKey) return null;
    return customers.planCurrency(this.pool, customer.planKey);
  }
}

function compareGrants(a: CreditGrant, b: CreditGrant): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  const ea = a.expireTime?.getTime() ?? Infinity;
  const eb = b.expireTime?.getTime() ?? Infinity;
  if (ea !== eb) return ea < eb ? -1 : 1;
  return a.effectiveTime.getTime() - b.effectiveTime.getTime() || a.createTime.getTime() - b.createTime.getTime();
}

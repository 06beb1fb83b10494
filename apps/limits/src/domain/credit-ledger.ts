import { Decimal } from "@tally/pricing";
import { compareBurnOrder } from "./burn-order";
import type { GrantStatus, LedgerEntryKind } from "./types";

/** One grant as the ledger sees it. */
export interface GrantState {
  id: string;
  priority: number;
  effectiveTime: Date;
  expireTime: Date | null;
  createTime: Date;
  amount: Decimal;
  remaining: Decimal;
  /** Net burned (burns minus reversals): the most a usage correction can give back. */
  burned: Decimal;
  /** The GRANT entry was written (the grant became effective). */
  credited: boolean;
  closed: "expired" | "voided" | null;
}

/** One balance movement to append to the ledger. */
export interface Movement {
  grantId: string;
  kind: LedgerEntryKind;
  /** Signed. */
  amount: Decimal;
  sourceRef: string;
  /** The customer's balance (all grants) after this movement. */
  balanceAfter: Decimal;
}

export function grantStatus(g: GrantState): GrantStatus {
  if (g.closed) return g.closed;
  if (!g.credited) return "pending";
  return g.remaining.isZero() ? "depleted" : "active";
}

/**
 * A customer's credit position, pure. Every change goes through a method that
 * returns the movements it made; each movement changes exactly one grant's
 * remainder by its amount, so the balance always equals the sum of movements
 * and no remainder ever goes below zero. The service loads the customer's
 * grants under the customer's row lock, runs these, and persists the result.
 */
export class CreditLedger {
  private readonly grants: GrantState[];

  constructor(grants: readonly GrantState[]) {
    this.grants = grants.map((g) => ({ ...g }));
  }

  get all(): readonly GrantState[] {
    return this.grants;
  }

  /** Sum of the remainders of effective, open grants. */
  balance(): Decimal {
    return this.grants.reduce((sum, g) => (g.credited && !g.closed ? sum.plus(g.remaining) : sum), new Decimal(0));
  }

  /** Whether the customer ever had a credited grant (so a zero balance means "depleted"). */
  everCredited(): boolean {
    return this.grants.some((g) => g.credited);
  }

  add(grant: GrantState): void {
    this.grants.push({ ...grant });
  }

  /**
   * Brings the ledger up to `now`, in time order: a grant whose effective
   * time has come is credited (GRANT), a credited grant whose expiry has come
   * has its remainder written off (EXPIRY).
   */
  catchUp(now: Date): Movement[] {
    type Step = { at: number; grant: GrantState; kind: "grant" | "expiry" };
    const steps: Step[] = [];
    for (const g of this.grants) {
      if (g.closed) continue;
      if (!g.credited && g.effectiveTime <= now) steps.push({ at: g.effectiveTime.getTime(), grant: g, kind: "grant" });
      if (g.expireTime && g.expireTime <= now && (g.credited || g.effectiveTime <= now)) {
        steps.push({ at: g.expireTime.getTime(), grant: g, kind: "expiry" });
      }
    }
    steps.sort((a, b) => a.at - b.at || (a.kind === b.kind ? 0 : a.kind === "grant" ? -1 : 1));
    const out: Movement[] = [];
    for (const step of steps) {
      const g = step.grant;
      if (step.kind === "grant") {
        g.credited = true;
        g.remaining = g.amount;
        out.push(this.movement(g, "grant", g.amount, `grant:${g.id}`));
      } else {
        const writeOff = g.remaining;
        g.remaining = new Decimal(0);
        g.closed = "expired";
        out.push(this.movement(g, "expiry", writeOff.neg(), `expiry:${g.id}`));
      }
    }
    return out;
  }

  /**
   * Burns `amount` (> 0) of spend in burn order from usable grants. What no
   * grant covers is `uncovered` (overage, invoiced): a balance never goes
   * negative.
   */
  burn(amount: Decimal, sourceRef: string, now: Date): { movements: Movement[]; burned: Decimal; uncovered: Decimal } {
    let left = amount;
    const movements: Movement[] = [];
    for (const g of this.usable(now)) {
      if (!left.gt(0)) break;
      const take = Decimal.min(left, g.remaining);
      if (!take.gt(0)) continue;
      g.remaining = g.remaining.minus(take);
      g.burned = g.burned.plus(take);
      left = left.minus(take);
      movements.push(this.movement(g, "burn", take.neg(), sourceRef));
    }
    return { movements, burned: amount.minus(left), uncovered: left };
  }

  /**
   * Gives back up to `amount` (> 0) after rated spend went down (e.g. a volume
   * tier drop): positive BURN entries, in reverse burn order, to open grants,
   * each at most what was burned from it. Credit burned from a grant that has
   * since expired or been voided is not restored (`returned` < amount).
   */
  giveBack(amount: Decimal, sourceRef: string, now: Date): { movements: Movement[]; returned: Decimal } {
    let left = amount;
    const movements: Movement[] = [];
    for (const g of this.usable(now, true).reverse()) {
      if (!left.gt(0)) break;
      const back = Decimal.min(left, g.burned);
      if (!back.gt(0)) continue;
      g.remaining = g.remaining.plus(back);
      g.burned = g.burned.minus(back);
      left = left.minus(back);
      movements.push(this.movement(g, "burn", back, sourceRef));
    }
    return { movements, returned: amount.minus(left) };
  }

  /** Writes off a grant's remainder (VOID). A voided grant is left as is (no movement). */
  void(grantId: string, sourceRef: string): Movement[] {
    const g = this.grants.find((x) => x.id === grantId);
    if (!g) throw new Error(`grant ${grantId} is not in this ledger`);
    if (g.closed === "voided") return [];
    if (g.closed === "expired") throw new Error(`grant ${grantId} is expired`);
    const writeOff = g.credited ? g.remaining : new Decimal(0);
    g.remaining = new Decimal(0);
    g.closed = "voided";
    return [this.movement(g, "void", writeOff.neg(), sourceRef)];
  }

  /** Effective, open, unexpired grants in burn order (with remainder > 0 unless `includeEmpty`). */
  private usable(now: Date, includeEmpty = false): GrantState[] {
    return this.grants
      .filter((g) => g.credited && !g.closed && (!g.expireTime || g.expireTime > now) && (includeEmpty || g.remaining.gt(0)))
      .sort(compareBurnOrder);
  }

  private movement(g: GrantState, kind: LedgerEntryKind, amount: Decimal, sourceRef: string): Movement {
    return { grantId: g.id, kind, amount, sourceRef, balanceAfter: this.balance() };
  }
}

import { Decimal } from "@tally/pricing";

export interface HeldReservation {
  id: string;
  quantity: Decimal;
  settled: Decimal;
}

export interface Settlement {
  id: string;
  settled: Decimal;
  /** Fully covered: the hold is dropped (SETTLED). */
  done: boolean;
}

/**
 * The settlement rule: an increase of counted units on a (customer, meter,
 * period) covers COMMITTED reservations of it, oldest commit first, each up
 * to its unsettled quantity. ACTIVE reservations (usage not yet reported done)
 * are never settled by usage: only commit, release or expiry ends them, so a
 * hold can outlive its usage (conservative) but never vanish before it.
 */
export function settleCommitted(committed: readonly HeldReservation[], increase: Decimal): Settlement[] {
  let left = increase;
  const out: Settlement[] = [];
  for (const r of committed) {
    if (!left.gt(0)) break;
    const open = r.quantity.minus(r.settled);
    const take = Decimal.min(open, left);
    left = left.minus(take);
    const settled = r.settled.plus(take);
    out.push({ id: r.id, settled, done: settled.gte(r.quantity) });
  }
  return out;
}

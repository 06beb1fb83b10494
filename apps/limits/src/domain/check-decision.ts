import { Decimal } from "@tally/pricing";
import type { DenyReason, Limit } from "./types";

/** Counted usage and active holds, for the customer's current period. */
export interface UsagePosition {
  /** Counted units of the checked meter. */
  units: Decimal;
  /** Rated spend of the checked meter's components. */
  meterSpend: Decimal;
  /** Rated spend over all meters. */
  totalSpend: Decimal;
  /** Units held by active reservations on the meter. */
  reservedUnits: Decimal;
  /** Spend held by active reservations on the meter. */
  reservedMeterCost: Decimal;
  /** Spend held by active reservations on any meter. */
  reservedTotalCost: Decimal;
}

export interface CreditPosition {
  prepaidOnly: boolean;
  /** Sum of the remainders of usable grants. */
  balance: Decimal;
  /** Spend held by active reservations (any meter). */
  reservedCost: Decimal;
}

export interface LimitStanding {
  limit: Limit;
  current: Decimal;
  reserved: Decimal;
  /** limit − current − reserved, floored at 0. */
  remaining: Decimal;
  /** What the checked quantity adds in this limit's measure. */
  impact: Decimal;
}

export interface CheckDecision {
  allowed: boolean;
  reason: DenyReason | undefined;
  /**
   * The limit whose position the answer reports: the denying hard cap; when
   * allowed, the hard cap with least room relative to its value; with no hard
   * cap, the soft limit with least room (so a soft-limit-only customer still
   * sees its usage, its limit and what remains). Undefined when no limit applies.
   */
  binding: LimitStanding | undefined;
  softLimitExceeded: boolean;
  /** balance − reserved for a prepaid-only customer; undefined otherwise. */
  creditsAvailable: Decimal | undefined;
}

export interface CheckFacts {
  subscriptionActive: boolean;
  /** The limits applying to the checked meter (see limitsApplyingTo). */
  limits: readonly Limit[];
  position: UsagePosition;
  credits: CreditPosition;
  quantity: Decimal;
  /** Marginal spend of `quantity`, priced with the plan given the usage so far. */
  cost: Decimal;
}

/**
 * Decides a Check. Denied, in this order, when the subscription is not ACTIVE,
 * when any hard cap would be exceeded (current + reserved + impact > value;
 * reaching the value exactly is allowed), or when a prepaid-only customer's
 * available credits (balance − reserved) are exhausted or do not cover the cost.
 * Pure: the caller holds the lock that makes the position current.
 */
export function decideCheck(facts: CheckFacts): CheckDecision {
  const standings = facts.limits.map((limit) => standing(limit, facts));
  const hard = standings.filter((s) => s.limit.kind === "hard_cap");
  const softLimitExceeded = standings.some(
    (s) => s.limit.kind === "soft_limit" && s.current.plus(s.reserved).plus(s.impact).gt(s.limit.value),
  );
  const creditsAvailable = facts.credits.prepaidOnly ? facts.credits.balance.minus(facts.credits.reservedCost) : undefined;
  const tightest = tightestOf(hard) ?? tightestOf(standings.filter((s) => s.limit.kind === "soft_limit"));
  const deny = (reason: DenyReason, binding = tightest): CheckDecision => ({
    allowed: false,
    reason,
    binding,
    softLimitExceeded,
    creditsAvailable,
  });
  if (!facts.subscriptionActive) return deny("no_subscription");
  const exceeded = hard.filter((s) => s.current.plus(s.reserved).plus(s.impact).gt(s.limit.value));
  if (exceeded.length > 0) return deny("hard_cap_exceeded", tightestOf(exceeded));
  if (creditsAvailable !== undefined && (!creditsAvailable.gt(0) || facts.cost.gt(creditsAvailable))) {
    return deny("credits_exhausted");
  }
  return { allowed: true, reason: undefined, binding: tightest, softLimitExceeded, creditsAvailable };
}

function standing(limit: Limit, facts: CheckFacts): LimitStanding {
  const p = facts.position;
  const [current, reserved, impact] =
    limit.measure === "units"
      ? [p.units, p.reservedUnits, facts.quantity]
      : limit.meterKey === ""
        ? [p.totalSpend, p.reservedTotalCost, facts.cost]
        : [p.meterSpend, p.reservedMeterCost, facts.cost];
  const remaining = Decimal.max(0, limit.value.minus(current).minus(reserved));
  return { limit, current, reserved, remaining, impact };
}

/** Least room left relative to the limit's value (ties: the first). */
function tightestOf(standings: readonly LimitStanding[]): LimitStanding | undefined {
  let best: LimitStanding | undefined;
  for (const s of standings) {
    if (!best || s.remaining.div(s.limit.value).lt(best.remaining.div(best.limit.value))) best = s;
  }
  return best;
}

/** The most each kind of hold may amount to for an allowed decision to stay allowed; undefined = no bound. */
export interface HoldBounds {
  units: Decimal | undefined;
  meterCost: Decimal | undefined;
  totalCost: Decimal | undefined;
}

/**
 * For an allowed decision: the largest holds under which it would still be
 * allowed, with counted usage, cost and credit unchanged (or credit higher).
 * Each hard cap allows reserved ≤ value − current − impact in its measure;
 * prepaid credit allows no more held spend than was seen (available credit
 * must not shrink). The fast reservation path inserts a hold only if the
 * holds it finds under the lock are within these bounds: every rule is
 * monotone in the holds, so the decision still holds.
 */
export function holdBounds(facts: CheckFacts): HoldBounds {
  const bounds: HoldBounds = { units: undefined, meterCost: undefined, totalCost: undefined };
  const tighten = (current: Decimal | undefined, bound: Decimal) => (current === undefined ? bound : Decimal.min(current, bound));
  for (const limit of facts.limits) {
    if (limit.kind !== "hard_cap") continue;
    const s = standing(limit, facts);
    const bound = limit.value.minus(s.current).minus(s.impact);
    if (limit.measure === "units") bounds.units = tighten(bounds.units, bound);
    else if (limit.meterKey === "") bounds.totalCost = tighten(bounds.totalCost, bound);
    else bounds.meterCost = tighten(bounds.meterCost, bound);
  }
  if (facts.credits.prepaidOnly) bounds.totalCost = tighten(bounds.totalCost, facts.credits.reservedCost);
  return bounds;
}

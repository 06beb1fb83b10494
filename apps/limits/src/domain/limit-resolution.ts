import type { Limit } from "./types";

const slot = (l: Limit) => `${l.meterKey}\u0000${l.measure}\u0000${l.kind}`;

/**
 * A customer's effective limits from its overrides and its plan's defaults:
 * for the same (meter_key, measure, kind) the customer override wins. Sorted
 * by meter_key, measure, kind (the GetLimits order).
 */
export function resolveEffectiveLimits(limits: readonly Limit[]): Limit[] {
  const chosen = new Map<string, Limit>();
  for (const limit of limits) {
    const current = chosen.get(slot(limit));
    if (!current || ("customerId" in limit.scope && !("customerId" in current.scope))) chosen.set(slot(limit), limit);
  }
  return [...chosen.values()].sort(compareLimits);
}

export function compareLimits(a: Limit, b: Limit): number {
  return a.meterKey.localeCompare(b.meterKey) || a.measure.localeCompare(b.measure) || a.kind.localeCompare(b.kind);
}

/**
 * The limits a Check on `meterKey` must respect: UNITS limits on the meter,
 * SPEND limits on the meter, and SPEND limits on the total ('' meter).
 */
export function limitsApplyingTo(limits: readonly Limit[], meterKey: string): Limit[] {
  return limits.filter((l) => l.meterKey === meterKey || (l.measure === "spend" && l.meterKey === ""));
}

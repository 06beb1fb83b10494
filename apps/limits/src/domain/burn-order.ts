/** What burn order looks at. */
export interface BurnOrderKey {
  id: string;
  priority: number;
  expireTime: Date | null;
  effectiveTime: Date;
  createTime: Date;
}

/**
 * The documented burn order: lower priority first, then the soonest expiry
 * (never-expiring last), then the oldest (earliest effective_time, then
 * creation), then id so the order is total and stable.
 */
export function compareBurnOrder(a: BurnOrderKey, b: BurnOrderKey): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  const ea = a.expireTime?.getTime() ?? Number.POSITIVE_INFINITY;
  const eb = b.expireTime?.getTime() ?? Number.POSITIVE_INFINITY;
  if (ea !== eb) return ea < eb ? -1 : 1;
  if (a.effectiveTime.getTime() !== b.effectiveTime.getTime()) return a.effectiveTime.getTime() - b.effectiveTime.getTime();
  if (a.createTime.getTime() !== b.createTime.getTime()) return a.createTime.getTime() - b.createTime.getTime();
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

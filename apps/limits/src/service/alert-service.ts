import { enqueue, type Pool, type PoolClient } from "@tally/platform";
import { Decimal } from "@tally/pricing";
import * as alerts from "../adapter/alert-store";
import * as limitStore from "../adapter/limit-store";
import * as usage from "../adapter/usage-store";
import { reachedThresholds } from "../domain/alert-evaluation";
import { newId } from "../domain/ids";
import { resolveEffectiveLimits } from "../domain/limit-resolution";
import type { Limit, Period, TriggeredAlert } from "../domain/types";
import { encodeToken, page } from "./paging";
import { alertTriggeredMessage } from "./events";

/**
 * Alert thresholds: evaluated whenever counted usage changes, against the
 * customer's effective limits. Each (limit, threshold, customer, period)
 * fires once: the insert is guarded by a unique constraint, so redelivery
 * and concurrent consumers cannot fire twice. A new period is a new key, so
 * thresholds re-arm by themselves.
 */
export class AlertService {
  constructor(private readonly pool: Pool) {}

  /**
   * `candidates`: the customer's limit rows when the caller read them for a
   * whole batch (limitStore.limitCandidatesOfMany); read here otherwise.
   */
  async evaluate(
    client: PoolClient,
    customerId: string,
    planKey: string | null,
    period: Period,
    meters: readonly string[],
    now: Date,
    candidates?: readonly Limit[],
  ): Promise<TriggeredAlert[]> {
    const limits = resolveEffectiveLimits(candidates ?? (await limitStore.customerLimitCandidates(client, customerId, planKey))).filter(
      (l) => l.alerts.length > 0 && (meters.includes(l.meterKey) || l.meterKey === ""),
    );
    if (limits.length === 0) return [];
    const rows = await usage.meterUsageRows(client, customerId, period.start);
    const totalSpend = [...rows.values()].reduce((s, r) => s.plus(r.spend), new Decimal(0));
    const fired: TriggeredAlert[] = [];
    for (const limit of limits) {
      const row = rows.get(limit.meterKey);
      const observed = limit.measure === "units" ? (row?.quantity ?? new Decimal(0)) : limit.meterKey === "" ? totalSpend : (row?.spend ?? new Decimal(0));
      for (const reached of reachedThresholds(limit, observed)) {
        const alert: TriggeredAlert = {
          id: newId("alr"),
          limitId: limit.id,
          customerId,
          threshold: reached.threshold,
          observedValue: observed,
          period,
          triggerTime: now,
          meterKey: limit.meterKey,
          measure: limit.measure,
          kind: limit.kind,
          limitValue: limit.value,
          thresholdValue: reached.thresholdValue,
          currency: limit.currency,
        };
        if (await alerts.insertAlertOnce(client, alert, reached.thresholdKey)) fired.push(alert);
      }
    }
    await enqueue(client, fired.map((a) => alertTriggeredMessage(a, now)));
    return fired;
  }

  async list(customerId: string, pageSize: number, pageToken: string): Promise<{ alerts: TriggeredAlert[]; nextPageToken: string }> {
    const { limit, before } = page(customerId, pageSize, pageToken);
    const result = await alerts.listAlerts(this.pool, customerId, limit, before);
    return { alerts: result.alerts, nextPageToken: result.more && result.lastSeq !== null ? encodeToken(result.lastSeq) : "" };
  }
}

import { Decimal } from "@tally/pricing";
import type { AlertThreshold, LimitKind, LimitMeasure, TriggeredAlert } from "../domain/types";
import type { Queryable } from "./queryable";

interface AlertRow {
  alert_id: string;
  limit_id: string;
  customer_id: string;
  period_start: Date;
  period_end: Date | null;
  threshold: { percent: string } | { absolute: string };
  observed_value: string;
  threshold_value: string;
  limit_value: string;
  meter_key: string;
  measure: LimitMeasure;
  kind: LimitKind;
  currency: string;
  trigger_time: Date;
  seq_text: string;
}

const COLUMNS = `alert_id, limit_id, customer_id, period_start, period_end, threshold, observed_value::text, threshold_value::text,
  limit_value::text, meter_key, measure, kind, currency, trigger_time, seq::text AS seq_text`;

function toAlert(r: AlertRow): TriggeredAlert {
  const threshold: AlertThreshold = "percent" in r.threshold ? { percent: new Decimal(r.threshold.percent) } : { absolute: new Decimal(r.threshold.absolute) };
  return {
    id: r.alert_id,
    limitId: r.limit_id,
    customerId: r.customer_id,
    threshold,
    observedValue: new Decimal(r.observed_value),
    period: { start: r.period_start, end: r.period_end },
    triggerTime: r.trigger_time,
    meterKey: r.meter_key,
    measure: r.measure,
    kind: r.kind,
    limitValue: new Decimal(r.limit_value),
    thresholdValue: new Decimal(r.threshold_value),
    currency: r.currency,
  };
}

/**
 * Records a triggered alert unless this (limit, threshold, customer, period)
 * already fired: the unique constraint is what makes "once per period" hold
 * under redelivery and concurrent consumers. Returns whether it was new.
 */
export async function insertAlertOnce(db: Queryable, a: TriggeredAlert, thresholdKey: string): Promise<boolean> {
  const threshold = "percent" in a.threshold ? { percent: a.threshold.percent.toFixed() } : { absolute: a.threshold.absolute.toFixed() };
  const { rowCount } = await db.query(
    `INSERT INTO triggered_alerts (alert_id, limit_id, threshold_key, customer_id, period_start, period_end, threshold, observed_value,
       threshold_value, limit_value, meter_key, measure, kind, currency, trigger_time)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
     ON CONFLICT (limit_id, threshold_key, customer_id, period_start) DO NOTHING`,
    [
      a.id, a.limitId, thresholdKey, a.customerId, a.period.start, a.period.end, JSON.stringify(threshold), a.observedValue.toFixed(),
      a.thresholdValue.toFixed(), a.limitValue.toFixed(), a.meterKey, a.measure, a.kind, a.currency, a.triggerTime,
    ],
  );
  return (rowCount ?? 0) > 0;
}

export async function listAlerts(db: Queryable, customerId: string, limit: number, beforeSeq: bigint | null): Promise<{ alerts: TriggeredAlert[]; lastSeq: bigint | null; more: boolean }> {
  const { rows } = await db.query<AlertRow>(
    `SELECT ${COLUMNS} FROM triggered_alerts WHERE customer_id = $1 AND ($2::bigint IS NULL OR seq < $2) ORDER BY seq DESC LIMIT $3`,
    [customerId, beforeSeq?.toString() ?? null, limit + 1],
  );
  const page = rows.slice(0, limit);
  return { alerts: page.map(toAlert), lastSeq: page.length > 0 ? BigInt(page[page.length - 1]!.seq_text) : null, more: rows.length > limit };
}

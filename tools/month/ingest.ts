import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { metering } from "@tally/contracts";
import { retrying, type MonthClients } from "./clients";
import { METER } from "./plans";
import type { ScenarioCustomer, UsageEvent } from "./scenario";

/** What metering answered, counted per kind of thing sent. */
export interface IngestCounts {
  sent: number;
  accepted: number;
  duplicatesSent: number;
  duplicatesAnswered: number;
  malformedSent: number;
  rejected: number;
  conflicts: number;
  unexpected: string[];
}

export interface CapCounts {
  checks: number;
  allowed: number;
  denied: number;
  /** Allowed after the customer's first denial (a smaller event that still fits). */
  allowedAfterDenial: number;
  /** Units allowed beyond the cap, over every capped customer: must be 0. */
  overshoot: number;
}

export function newIngestCounts(): IngestCounts {
  return { sent: 0, accepted: 0, duplicatesSent: 0, duplicatesAnswered: 0, malformedSent: 0, rejected: 0, conflicts: 0, unexpected: [] };
}

export type Outgoing = { kind: "event" | "duplicate"; event: UsageEvent; reservationId?: string } | { kind: "malformed"; id: string; customerId: string; time: Date };

function toProto(o: Outgoing): metering.UsageEvent {
  if (o.kind === "malformed") {
    return create(metering.UsageEventSchema, { id: o.id, customerId: o.customerId, eventType: METER.eventType, time: timestampFromDate(o.time), properties: { tokens: "twelve", model: "small" } });
  }
  const e = o.event;
  return create(metering.UsageEventSchema, {
    id: e.id,
    customerId: e.customerId,
    eventType: METER.eventType,
    time: timestampFromDate(e.time),
    properties: { tokens: String(e.tokens), model: e.model, ...(o.reservationId && { tally_reservation_id: o.reservationId }) },
  });
}

/**
 * Sends through Meter.RecordBatch, `concurrency` batches in flight, each retried as a whole on
 * UNAVAILABLE (safe: ids make a re-sent event DUPLICATE). An original answered DUPLICATE on a
 * retry counts as accepted; a re-sent copy must come back DUPLICATE; malformed must be REJECTED.
 */
export async function sendBatches(c: MonthClients, items: Outgoing[], counts: IngestCounts, o: { batchSize: number; concurrency: number }): Promise<void> {
  const batches: Outgoing[][] = [];
  for (let i = 0; i < items.length; i += o.batchSize) batches.push(items.slice(i, i + o.batchSize));
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(o.concurrency, batches.length) }, async () => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        let attempt = 0;
        const res = await retrying(() => {
          attempt++;
          return c.meter.recordBatch({ events: batch.map(toProto) });
        });
        batch.forEach((item, i) => tally(item, res.results[i]!.status, attempt > 1, counts, res.results[i]!.reason));
      }
    }),
  );
}

function tally(item: Outgoing, status: metering.EventStatus, retried: boolean, n: IngestCounts, reason: string): void {
  const S = metering.EventStatus;
  n.sent++;
  if (item.kind === "malformed") {
    n.malformedSent++;
    if (status === S.REJECTED) n.rejected++;
    else n.unexpected.push(`${item.id}: malformed answered ${S[status]}`);
  } else if (item.kind === "duplicate") {
    n.duplicatesSent++;
    if (status === S.DUPLICATE) n.duplicatesAnswered++;
    else n.unexpected.push(`${item.event.id}: re-sent copy answered ${S[status]} ${reason}`);
  } else if (status === S.ACCEPTED || (retried && status === S.DUPLICATE)) n.accepted++;
  else {
    if (status === S.CONFLICT) n.conflicts++;
    n.unexpected.push(`${item.event.id}: answered ${S[status]} ${reason}`);
  }
}

/**
 * A capped customer's events each ask limits first (Check with a reservation, settled by the
 * event's `tally_reservation_id`); a denied one is never sent, as a well-behaved client does.
 */
export class CapGate {
  readonly counts: CapCounts = { checks: 0, allowed: 0, denied: 0, allowedAfterDenial: 0, overshoot: 0 };
  private readonly allowedUnits = new Map<string, number>();
  private readonly deniedOnce = new Set<string>();

  constructor(
    private readonly c: MonthClients,
    private readonly capped: Map<string, ScenarioCustomer>,
  ) {}

  isCapped(customerId: string): boolean {
    return this.capped.has(customerId);
  }

  /** Per customer in order (a cap is a running total), customers in parallel. */
  async admit(events: UsageEvent[]): Promise<Outgoing[]> {
    const byCustomer = new Map<string, UsageEvent[]>();
    for (const e of events) {
      const list = byCustomer.get(e.customerId);
      if (list) list.push(e);
      else byCustomer.set(e.customerId, [e]);
    }
    const admitted: Outgoing[] = [];
    await Promise.all(
      [...byCustomer].map(async ([customerId, list]) => {
        for (const e of list) {
          const res = await retrying(() =>
            this.c.limiter.check({ customerId, meterKey: METER.key, quantity: String(e.tokens), reserve: true, reservationTtl: { seconds: 3600n }, idempotencyKey: `month-${e.id}` }),
          );
          this.counts.checks++;
          if (!res.allowed) {
            this.counts.denied++;
            this.deniedOnce.add(customerId);
            continue;
          }
          this.counts.allowed++;
          if (this.deniedOnce.has(customerId)) this.counts.allowedAfterDenial++;
          this.allowedUnits.set(customerId, (this.allowedUnits.get(customerId) ?? 0) + e.tokens);
          admitted.push({ kind: "event", event: e, reservationId: res.reservationId });
        }
      }),
    );
    return admitted;
  }

  /** Units allowed beyond each cap, summed (0 when every cap held). */
  overshoot(): number {
    let over = 0;
    for (const [id, units] of this.allowedUnits) over += Math.max(0, units - this.capped.get(id)!.capTokens!);
    this.counts.overshoot = over;
    return over;
  }

  hitCaps(): number {
    return this.deniedOnce.size;
  }
}

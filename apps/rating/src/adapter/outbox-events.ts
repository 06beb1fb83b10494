import { createHash } from "node:crypto";
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { rating, SUBJECTS } from "@tally/contracts";
import { eventMessage, type OutboxMessage } from "@tally/platform";
import type { ChangeKind, SubscriptionFacts } from "../domain/subscription";
import type { Crossing, RunningAmountDraft } from "../domain/usage-rating";
import { planProto } from "./plan-mapping";
import type { PlanRow } from "./plan-store";
import { range, subscriptionProto, ts, wire } from "./proto-mapping";

/**
 * Rating's published events, domain → proto in one place.
 *
 * Every msgId is derived from the fact it announces (a plan version, a subscription revision, a
 * set of running amounts with their sequences, a tier crossing by one event), so the same fact
 * enqueued or published twice is stored once by JetStream.
 */

/**
 * Most encoded bytes of running amounts in one usage.rated message. NATS refuses a message above
 * its max_payload (1 MiB by default), which would stall the outbox relay behind it; half of that
 * leaves room for the envelope and headers.
 */
export const MAX_RATED_BYTES = 512 * 1024;

/**
 * The messages for a rated batch; `sequences[i]` is the head sequence of `running[i]`. A large
 * batch (thousands of customers in one transaction) is split, in order, into messages of at most
 * {@link MAX_RATED_BYTES}: each amount carries its own sequence, so consumers apply the parts
 * independently, and the split is the same on every retry (same ids).
 */
export function usageRated(running: readonly RunningAmountDraft[], sequences: readonly bigint[], now: Date): OutboxMessage[] {
  const messages: OutboxMessage[] = [];
  let part: MessageInitShape<typeof rating.RunningAmountSchema>[] = [];
  let bytes = 0;
  running.forEach((r, i) => {
    const amount = runningAmount(r, sequences[i]!);
    const size = encodedSizeBound(amount);
    if (part.length > 0 && bytes + size > MAX_RATED_BYTES) {
      messages.push(usageRatedMessage(part, now));
      part = [];
      bytes = 0;
    }
    part.push(amount);
    bytes += size;
  });
  if (part.length > 0) messages.push(usageRatedMessage(part, now));
  return messages;
}

function runningAmount(r: RunningAmountDraft, sequence: bigint): MessageInitShape<typeof rating.RunningAmountSchema> {
  return {
    customerId: r.customerId,
    subscriptionId: r.key.subscriptionId,
    planKey: r.planKey,
    planVersion: r.planVersion,
    componentKey: r.key.componentKey,
    meterKey: r.meterKey,
    dimensionValue: r.key.dimensionValue,
    period: range(r.period),
    quantity: wire(r.quantity),
    amount: wire(r.amount),
    currency: r.currency,
    sequence,
  };
}

/**
 * An upper bound of one amount's encoded size, without encoding it on the rating path: its
 * strings' UTF-8 bytes plus 96 for tags, lengths, the two varints and the period's timestamps
 * (about 60 at most).
 */
function encodedSizeBound(a: MessageInitShape<typeof rating.RunningAmountSchema>): number {
  const strings = [a.customerId, a.subscriptionId, a.planKey, a.componentKey, a.meterKey, a.dimensionValue, a.quantity, a.amount, a.currency];
  return strings.reduce((n, s) => n + Buffer.byteLength(s ?? ""), 96);
}

function usageRatedMessage(amounts: MessageInitShape<typeof rating.RunningAmountSchema>[], now: Date): OutboxMessage {
  // The digest of the amounts themselves: each carries its head's sequence, so two batches never share one.
  const body = toBinary(rating.UsageRatedSchema, create(rating.UsageRatedSchema, { amounts }));
  const id = `rated:${createHash("sha256").update(body).digest("base64url")}`;
  return eventMessage(rating.UsageRatedSchema, SUBJECTS.rating.usageRated, id, now, { amounts });
}

export function tierCrossed(c: Crossing, now: Date): OutboxMessage {
  const k = c.key;
  return eventMessage(
    rating.TierCrossedSchema,
    SUBJECTS.rating.tierCrossed,
    `tier:${k.subscriptionId}:${k.componentKey}:${k.dimensionValue}:${k.segmentStart.toISOString()}:${c.eventId}:${c.fromTier}>${c.toTier}`,
    now,
    {
      customerId: c.customerId,
      subscriptionId: k.subscriptionId,
      componentKey: k.componentKey,
      dimensionValue: k.dimensionValue,
      fromTier: c.fromTier,
      toTier: c.toTier,
      threshold: wire(c.threshold),
      quantity: wire(c.quantity),
      direction: c.direction === "up" ? rating.Direction.UP : rating.Direction.DOWN,
      eventId: c.eventId,
      eventTime: ts(c.eventTime),
      period: range(c.segment),
    },
  );
}

export function planPublished(row: PlanRow, now: Date): OutboxMessage {
  return eventMessage(rating.PlanPublishedSchema, SUBJECTS.rating.planPublished, `plan:${row.key}:${row.version}`, now, { plan: planProto(row) });
}

const CHANGE_KIND: Record<ChangeKind, rating.ChangeKind> = {
  created: rating.ChangeKind.CREATED,
  plan_changed: rating.ChangeKind.PLAN_CHANGED,
  change_scheduled: rating.ChangeKind.CHANGE_SCHEDULED,
  canceled: rating.ChangeKind.CANCELED,
  period_started: rating.ChangeKind.PERIOD_STARTED,
};

/** The subscription as seen at `now`, after a change of `kind`. */
export function subscriptionChanged(sub: SubscriptionFacts, kind: ChangeKind, now: Date): OutboxMessage {
  const subscription = subscriptionProto(sub, now);
  return eventMessage(rating.SubscriptionChangedSchema, SUBJECTS.rating.subscriptionChanged, `sub:${subscription.id}:${subscription.revision}`, now, {
    subscription,
    kind: CHANGE_KIND[kind],
  });
}

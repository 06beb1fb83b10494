import { randomUUID } from "node:crypto";
import { rating, SUBJECTS } from "@tally/contracts";
import { eventMessage, type OutboxMessage } from "@tally/platform";

/**
 * A msgId is deterministic where the same fact could be enqueued twice (a subscription revision,
 * a crossing caused by one event), so JetStream stores it once; a usage.rated batch gets a fresh one.
 */
export const freshEventId = (): string => randomUUID();

export function planPublished(plan: rating.Plan, now: Date): OutboxMessage {
  return eventMessage(rating.PlanPublishedSchema, SUBJECTS.rating.planPublished, `plan:${plan.key}:${plan.version}`, now, { plan });
}

export function subscriptionChanged(subscription: rating.Subscription, kind: rating.ChangeKind, now: Date): OutboxMessage {
  return eventMessage(rating.SubscriptionChangedSchema, SUBJECTS.rating.subscriptionChanged, `sub:${subscription.id}:${subscription.revision}`, now, {
    subscription,
    kind,
  });
}

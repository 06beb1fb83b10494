import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { randomUUID } from "node:crypto";
import type { OutboxMessage } from "@tally/platform";
import { rating } from "@tally/contracts";
import { ts } from "../adapter/proto-mapping";

/** The subjects rating publishes on (all through the transactional outbox). */
export const SUBJECTS = {
  planPublished: "tally.rating.v1.plan.published",
  subscriptionChanged: "tally.rating.v1.subscription.changed",
  usageRated: "tally.rating.v1.usage.rated",
  tierCrossed: "tally.rating.v1.tier.crossed",
} as const;

/**
 * One outbox message. `msgId` is deterministic where the same fact could be enqueued twice
 * (a subscription revision, a crossing caused by one event), so JetStream stores it once.
 */
export function outboxMessage<S extends DescMessage>(
  schema: S,
  subject: string,
  msgId: string,
  now: Date,
  body: Omit<MessageInitShape<S>, "meta">,
): OutboxMessage {
  const meta = { id: msgId || randomUUID(), source: "tally.rating", subject, time: ts(now) };
  const message = create(schema, { ...body, meta } as unknown as MessageInitShape<S>);
  return { subject, msgId: meta.id, payload: toBinary(schema, message) };
}

export function planPublished(plan: rating.Plan, now: Date): OutboxMessage {
  return outboxMessage(rating.PlanPublishedSchema, SUBJECTS.planPublished, `plan:${plan.key}:${plan.version}`, now, { plan });
}

export function subscriptionChanged(subscription: rating.Subscription, kind: rating.ChangeKind, now: Date): OutboxMessage {
  return outboxMessage(rating.SubscriptionChangedSchema, SUBJECTS.subscriptionChanged, `sub:${subscription.id}:${subscription.revision}`, now, {
    subscription,
    kind,
  });
}

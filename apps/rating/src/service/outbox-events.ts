import { createHash } from "node:crypto";
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { rating, SUBJECTS } from "@tally/contracts";
import { eventMessage, type OutboxMessage } from "@tally/platform";

/**
 * Every msgId is derived from the fact it announces (a plan version, a subscription revision, a
 * set of running amounts with their sequences), so the same fact enqueued or published twice is
 * stored once by JetStream.
 */

/** The digest of the amounts themselves: each carries its head's sequence, so two batches never share one. */
export function usageRated(amounts: MessageInitShape<typeof rating.RunningAmountSchema>[], now: Date): OutboxMessage {
  const body = toBinary(rating.UsageRatedSchema, create(rating.UsageRatedSchema, { amounts }));
  const id = `rated:${createHash("sha256").update(body).digest("base64url")}`;
  return eventMessage(rating.UsageRatedSchema, SUBJECTS.rating.usageRated, id, now, { amounts });
}

export function planPublished(plan: rating.Plan, now: Date): OutboxMessage {
  return eventMessage(rating.PlanPublishedSchema, SUBJECTS.rating.planPublished, `plan:${plan.key}:${plan.version}`, now, { plan });
}

export function subscriptionChanged(subscription: rating.Subscription, kind: rating.ChangeKind, now: Date): OutboxMessage {
  return eventMessage(rating.SubscriptionChangedSchema, SUBJECTS.rating.subscriptionChanged, `sub:${subscription.id}:${subscription.revision}`, now, {
    subscription,
    kind,
  });
}

import type { MessageInitShape } from "@bufbuild/protobuf";
import type { rating } from "@tally/contracts";
import { Violations, type ServiceDeps } from "@tally/platform";
import { dateOf, invoicePreviewProto, ts } from "../adapter/proto-mapping";
import { getSubscription, type SubscriptionRow } from "../adapter/subscription-store";
import { SubscriptionNotFoundError } from "../domain/errors";
import type { UsageReader } from "../service/usage-reader";

const MAX_QUERIES = 1000;

/**
 * Rating.PreviewPeriods: whole periods (current or closed) priced with PreviewInvoice's
 * arithmetic, for invoicing to build drafts from. Kept in its own file, beside the other handlers.
 */
export async function previewPeriods(
  deps: Pick<ServiceDeps, "pool" | "clock">,
  reader: UsageReader,
  req: rating.PreviewPeriodsRequest,
): Promise<MessageInitShape<typeof rating.PreviewPeriodsResponseSchema>> {
  const v = new Violations();
  if (req.queries.length === 0 || req.queries.length > MAX_QUERIES) v.add("queries", `must hold 1 to ${MAX_QUERIES} queries, got ${req.queries.length}`, "invalid_length");
  req.queries.forEach((q, i) => {
    if (!q.subscriptionId) v.add(`queries[${i}].subscription_id`, "is required", "required");
    if (!q.time) v.add(`queries[${i}].time`, "is required", "required");
  });
  v.throwIfAny();
  const asOf = deps.clock.now();
  const subs = new Map<string, SubscriptionRow>();
  const previews: MessageInitShape<typeof rating.InvoicePreviewSchema>[] = [];
  for (const q of req.queries) {
    let sub = subs.get(q.subscriptionId);
    if (!sub) {
      sub = await getSubscription(deps.pool, q.subscriptionId);
      if (!sub) throw new SubscriptionNotFoundError("subscription", q.subscriptionId);
      subs.set(sub.id, sub);
    }
    const { current, lines, subtotal, total } = await reader.previewAt(sub, dateOf(q.time)!);
    previews.push(invoicePreviewProto(current, lines, subtotal, total));
  }
  return { previews, asOfTime: ts(asOf) };
}

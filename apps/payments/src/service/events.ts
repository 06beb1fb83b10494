import { payments as pb, SUBJECTS } from "@tally/contracts";
import { eventMessage, type OutboxMessage } from "@tally/platform";
import { attemptToWire, ts } from "../adapter/wire";
import type { RefundRecord } from "../adapter/refund-store";
import type { PaymentAttempt } from "../domain/attempt";

/** Event ids derive from what they announce: a retried transaction publishes the same id. */
export function paymentOutcomeMessage(a: PaymentAttempt, provider: string, now: Date): OutboxMessage {
  const attempt = attemptToWire(a, provider);
  if (a.status === "succeeded") {
    return eventMessage(pb.PaymentSucceededSchema, SUBJECTS.payments.paymentSucceeded, `payment-succeeded:${a.id}`, now, { attempt });
  }
  return eventMessage(pb.PaymentFailedSchema, SUBJECTS.payments.paymentFailed, `payment-failed:${a.id}`, now, { attempt });
}

export function dunningExhaustedMessage(a: PaymentAttempt, provider: string, now: Date): OutboxMessage {
  return eventMessage(pb.DunningExhaustedSchema, SUBJECTS.payments.dunningExhausted, `dunning-exhausted:${a.invoiceId}:${a.id}`, now, {
    invoiceId: a.invoiceId,
    customerId: a.customerId,
    lastAttempt: attemptToWire(a, provider),
  });
}

export function refundSucceededMessage(r: RefundRecord, providerRefundId: string, now: Date): OutboxMessage {
  return eventMessage(pb.RefundSucceededSchema, SUBJECTS.payments.refundSucceeded, `refund-succeeded:${r.id}`, now, {
    invoiceId: r.invoiceId,
    creditNoteId: r.creditNoteId,
    amount: { currency: r.currency, amount: r.amount },
    providerRefundId,
    refundTime: ts(now),
    reason: r.reason,
  });
}

import { create, toBinary } from "@bufbuild/protobuf";
import { payments as pb } from "@tally/contracts";
import type { OutboxMessage } from "@tally/platform";
import { attemptToWire, ts } from "../adapter/wire";
import type { RefundRecord } from "../adapter/refund-store";
import type { PaymentAttempt } from "../domain/attempt";

/** Subjects payments publishes on (each a proto message from tally.payments.v1). */
export const SUBJECTS = {
  paymentSucceeded: "tally.payments.v1.payment.succeeded",
  paymentFailed: "tally.payments.v1.payment.failed",
  dunningExhausted: "tally.payments.v1.dunning.exhausted",
  refundSucceeded: "tally.payments.v1.refund.succeeded",
} as const;

const SOURCE = "tally.payments";

/** Event ids derive from what they announce: a retried transaction publishes the same id. */
const meta = (id: string, subject: string, time: Date) => ({ id, source: SOURCE, subject, time: ts(time) });

export function paymentOutcomeMessage(a: PaymentAttempt, provider: string, now: Date): OutboxMessage {
  if (a.status === "succeeded") {
    const id = `payment-succeeded:${a.id}`;
    const msg = create(pb.PaymentSucceededSchema, { meta: meta(id, SUBJECTS.paymentSucceeded, now), attempt: attemptToWire(a, provider) });
    return { subject: SUBJECTS.paymentSucceeded, msgId: id, payload: toBinary(pb.PaymentSucceededSchema, msg) };
  }
  const id = `payment-failed:${a.id}`;
  const msg = create(pb.PaymentFailedSchema, { meta: meta(id, SUBJECTS.paymentFailed, now), attempt: attemptToWire(a, provider) });
  return { subject: SUBJECTS.paymentFailed, msgId: id, payload: toBinary(pb.PaymentFailedSchema, msg) };
}

export function dunningExhaustedMessage(a: PaymentAttempt, provider: string, now: Date): OutboxMessage {
  const id = `dunning-exhausted:${a.invoiceId}:${a.id}`;
  const msg = create(pb.DunningExhaustedSchema, { meta: meta(id, SUBJECTS.dunningExhausted, now), invoiceId: a.invoiceId, customerId: a.customerId, lastAttempt: attemptToWire(a, provider) });
  return { subject: SUBJECTS.dunningExhausted, msgId: id, payload: toBinary(pb.DunningExhaustedSchema, msg) };
}

export function refundSucceededMessage(r: RefundRecord, providerRefundId: string, now: Date): OutboxMessage {
  const id = `refund-succeeded:${r.id}`;
  const msg = create(pb.RefundSucceededSchema, {
    meta: meta(id, SUBJECTS.refundSucceeded, now),
    invoiceId: r.invoiceId,
    creditNoteId: r.creditNoteId,
    amount: { currency: r.currency, amount: r.amount },
    providerRefundId,
    refundTime: ts(now),
  });
  return { subject: SUBJECTS.refundSucceeded, msgId: id, payload: toBinary(pb.RefundSucceededSchema, msg) };
}

import { timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { payments as pb } from "@tally/contracts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { AttemptStatus, PaymentAttempt } from "../domain/attempt";
import type { RefundRecord, RefundStatus } from "./refund-store";

export const ts = (d: Date | null | undefined): Timestamp | undefined => (d ? timestampFromDate(d) : undefined);

const STATUS: Record<AttemptStatus, pb.PaymentStatus> = {
  pending: pb.PaymentStatus.PENDING,
  succeeded: pb.PaymentStatus.SUCCEEDED,
  failed: pb.PaymentStatus.FAILED,
  canceled: pb.PaymentStatus.CANCELED,
};

const REFUND_STATUS: Record<RefundStatus, pb.RefundStatus> = {
  waiting: pb.RefundStatus.WAITING_FOR_PAYMENT,
  pending: pb.RefundStatus.PENDING,
  succeeded: pb.RefundStatus.SUCCEEDED,
  failed: pb.RefundStatus.FAILED,
};

export function attemptToWire(a: PaymentAttempt, provider: string): MessageInitShape<typeof pb.PaymentAttemptSchema> {
  return {
    id: a.id,
    invoiceId: a.invoiceId,
    customerId: a.customerId,
    amount: { currency: a.currency, amount: a.amount },
    status: STATUS[a.status],
    attemptNumber: a.attemptNumber,
    provider,
    providerPaymentId: a.providerPaymentId,
    providerCustomerId: a.providerCustomerId,
    failureCode: a.failureCode,
    failureMessage: a.failureMessage,
    nextRetryTime: ts(a.nextRetryTime),
    createTime: ts(a.createTime),
    updateTime: ts(a.updateTime),
    idempotencyKey: a.idempotencyKey,
  };
}

export function refundToWire(r: RefundRecord): MessageInitShape<typeof pb.RefundSchema> {
  return {
    id: r.id,
    invoiceId: r.invoiceId,
    creditNoteId: r.creditNoteId,
    amount: { currency: r.currency, amount: r.amount },
    status: REFUND_STATUS[r.status],
    providerRefundId: r.providerRefundId,
    failureCode: r.failureCode,
    createTime: ts(r.createTime),
    updateTime: ts(r.updateTime),
    reason: r.reason,
  };
}

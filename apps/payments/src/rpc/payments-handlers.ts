import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type payments as pb } from "@tally/contracts";
import type { Scope, ServiceHandlers } from "@tally/platform";
import { attemptToWire, refundToWire } from "../adapter/wire";
import type { ChargeService } from "../service/charge-service";
import type { ReconciliationService } from "../service/reconciliation-service";
import type { RefundService } from "../service/refund-service";

export const PAYMENTS_SCOPES: Record<keyof typeof pb.Payments.method, Scope> = {
  chargeInvoice: "admin",
  getPaymentAttempt: "read",
  listPaymentAttempts: "read",
  getReconciliation: "admin",
  setDefaultPaymentMethod: "admin",
  listRefunds: "read",
};

export interface PaymentsHandlerDeps {
  refunds: RefundService;
  charges: ChargeService;
  reconciliation: ReconciliationService;
  providerName: string;
}

/** Thin: wire → service input, service → wire. */
export function createPaymentsHandlers(d: PaymentsHandlerDeps): ServiceHandlers<typeof pb.Payments> {
  const wire = (a: Parameters<typeof attemptToWire>[0]) => attemptToWire(a, d.providerName);
  return {
    async chargeInvoice(req) {
      return { attempt: wire(await d.charges.charge({ invoiceId: req.invoiceId, idempotencyKey: req.idempotencyKey })) };
    },
    async getPaymentAttempt(req) {
      return { attempt: wire(await d.charges.get(req.paymentAttemptId)) };
    },
    async listPaymentAttempts(req) {
      const page = await d.charges.list(req);
      return { attempts: page.attempts.map(wire), nextPageToken: page.nextPageToken };
    },
    async getReconciliation(req) {
      const r = await d.reconciliation.reconcile(
        req.range?.start ? timestampDate(req.range.start) : undefined,
        req.range?.end ? timestampDate(req.range.end) : undefined,
        req.currency,
      );
      return {
        reconciliation: {
          range: req.range,
          currency: req.currency,
          invoicedTotal: r.invoicedTotal,
          collectedTotal: r.collectedTotal,
          providerCollectedTotal: r.providerCollectedTotal,
          outstandingTotal: r.outstandingTotal,
          refundedTotal: r.refundedTotal,
          voidedCollectedTotal: r.voidedCollectedTotal,
          mismatches: r.mismatches.map((m) => ({
            invoiceId: m.invoiceId,
            paymentAttemptId: m.attemptId,
            providerPaymentId: m.providerPaymentId,
            kind: m.kind,
            tallyAmount: m.tallyAmount,
            providerAmount: m.providerAmount,
          })),
        },
      };
    },
    async setDefaultPaymentMethod(req) {
      const c = await d.charges.setDefaultPaymentMethod(req.customerId, req.paymentMethod);
      return { customer: { customerId: c.customerId, provider: d.providerName, providerCustomerId: c.providerCustomerId, defaultPaymentMethod: c.defaultPaymentMethod } };
    },
    async listRefunds(req) {
      const page = await d.refunds.list(req);
      return { refunds: page.refunds.map(refundToWire), nextPageToken: page.nextPageToken };
    },
  };
}

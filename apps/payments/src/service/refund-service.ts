import { enqueue, withTransaction, type Clock, type CommittedPublisher, type Logger, type Pool } from "@tally/platform";
import { Decimal } from "@tally/pricing";
import { attemptsOf } from "../adapter/attempt-store";
import { addRefunded, getInvoice } from "../adapter/invoice-store";
import { committedRefundTotal, finishRefund, insertRefund, listRefunds, lockRefund, stalePendingRefunds, type RefundRecord } from "../adapter/refund-store";
import { ProviderRejectedError, ProviderUnavailableError } from "../domain/errors";
import { refundSucceededMessage } from "./events";
import { decodePage, encodePage } from "./paging";
import type { PaymentProvider } from "./payment-provider";

export interface RefundDue {
  creditNoteId: string;
  invoiceId: string;
  amount: string;
  currency: string;
}

/**
 * Refunds what credit notes say is due. One refund row per credit note (the unique key makes a
 * redelivered event a no-op), committed before the provider call, whose idempotency key is
 * derived from the credit note. A refund that would take the invoice beyond what was paid is
 * recorded as failed and never sent.
 */
export class RefundService {
  constructor(private readonly deps: { pool: Pool; clock: Clock; provider: PaymentProvider; outbox: CommittedPublisher; logger: Logger }) {}

  async request(due: RefundDue): Promise<void> {
    const created = await withTransaction(this.deps.pool, async (client) => {
      const invoice = await getInvoice(client, due.invoiceId, true);
      if (!invoice) {
        this.deps.logger.warn("refund for an invoice payments never saw; ignored", { invoiceId: due.invoiceId, creditNoteId: due.creditNoteId });
        return undefined;
      }
      const committed = new Decimal(await committedRefundTotal(client, due.invoiceId));
      const overPaid = committed.plus(due.amount).gt(invoice.amountPaid) || invoice.state !== "paid";
      return insertRefund(client, {
        id: `rfd_${due.creditNoteId}`,
        creditNoteId: due.creditNoteId,
        invoiceId: due.invoiceId,
        amount: due.amount,
        currency: due.currency,
        status: overPaid ? "failed" : "pending",
        failureCode: overPaid ? "refund_exceeds_paid" : "",
        createTime: this.deps.clock.now(),
      });
    });
    if (created?.status === "pending") await this.send(created);
  }

  private async send(refund: RefundRecord): Promise<void> {
    const paid = (await attemptsOf(this.deps.pool, [refund.invoiceId])).find((a) => a.status === "succeeded");
    if (!paid) return this.finish(refund.id, "failed", "", "no_successful_payment");
    try {
      const view = await this.deps.provider.refund({
        refundId: refund.id,
        invoiceId: refund.invoiceId,
        creditNoteId: refund.creditNoteId,
        providerPaymentId: paid.providerPaymentId,
        amount: refund.amount,
        currency: refund.currency,
        idempotencyKey: `tally:refund:${refund.creditNoteId}`,
      });
      await this.finish(refund.id, view.succeeded ? "succeeded" : "failed", view.id, view.failureCode ?? "");
    } catch (err) {
      if (err instanceof ProviderUnavailableError) return; // stays pending; resolvePending repeats it with the key
      if (err instanceof ProviderRejectedError) return this.finish(refund.id, "failed", "", err.providerCode);
      throw err;
    }
  }

  /** Moves a refund out of pending once; success books it on the invoice and announces it. */
  async finish(refundId: string, status: "succeeded" | "failed", providerRefundId: string, failureCode: string): Promise<void> {
    const now = this.deps.clock.now();
    const queued = await withTransaction(this.deps.pool, async (client) => {
      const refund = await lockRefund(client, refundId);
      if (!refund || refund.status !== "pending") return undefined;
      await finishRefund(client, refundId, status, providerRefundId, failureCode, now);
      if (status !== "succeeded") return undefined;
      await addRefunded(client, refund.invoiceId, refund.amount);
      return enqueue(client, [refundSucceededMessage(refund, providerRefundId, now)], { notify: false });
    });
    if (queued) this.deps.outbox.publishCommitted(queued);
  }

  async resolvePending(olderThanMs: number): Promise<void> {
    const before = new Date(this.deps.clock.now().getTime() - olderThanMs);
    for (const refund of await stalePendingRefunds(this.deps.pool, before, 100)) await this.send(refund);
  }

  async list(filter: { invoiceId: string; pageSize: number; pageToken: string }): Promise<{ refunds: RefundRecord[]; nextPageToken: string }> {
    const { limit, before } = decodePage(filter.pageSize, filter.pageToken);
    const rows = await listRefunds(this.deps.pool, { invoiceId: filter.invoiceId, beforeSeq: before, limit: limit + 1 });
    const page = rows.slice(0, limit);
    return { refunds: page, nextPageToken: rows.length > limit ? encodePage(page.at(-1)!.seq) : "" };
  }
}

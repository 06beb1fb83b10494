import { enqueue, withTransaction, type Clock, type CommittedPublisher, type Logger, type Pool, type PoolClient } from "@tally/platform";
import { Decimal } from "@tally/pricing";
import { attemptsOf } from "../adapter/attempt-store";
import { addRefunded, getInvoice } from "../adapter/invoice-store";
import {
  committedRefundTotal,
  finishRefund,
  insertRefund,
  listRefunds,
  lockRefund,
  lockWaitingRefunds,
  setRefundStatuses,
  stalePendingRefunds,
  type RefundRecord,
} from "../adapter/refund-store";
import { ProviderRejectedError, ProviderUnavailableError } from "../domain/errors";
import { admitRefund, refundIdempotencyKey, releaseWaiting, voidRefundAmount, voidRefundId } from "../domain/refund";
import { refundSucceededMessage } from "./events";
import { decodePage, encodePage } from "./paging";
import type { PaymentProvider } from "./payment-provider";

export interface RefundDue {
  creditNoteId: string;
  invoiceId: string;
  amount: string;
  currency: string;
}

/** A payment attempt that just left pending, as refunds need to know it. */
export interface SettledPayment {
  invoiceId: string;
  attemptId: string;
  succeeded: boolean;
  currency: string;
  /** The invoice's state after the outcome (a voided invoice stays void when its payment succeeds). */
  invoiceState: string;
}

/**
 * Refunds what credit notes say is due, and what a voided invoice's late payment took. One refund
 * row per credit note (the unique key makes a redelivered event a no-op), committed before the
 * provider call, whose idempotency key is derived from the credit note. A refund that would take
 * the invoice beyond what was paid is recorded as failed and never sent; one that arrives before
 * the payment covering it is recorded `waiting` and sent when that payment is (see admitRefund).
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
      const inFlight = await client.query(`SELECT 1 FROM attempts WHERE invoice_id = $1 AND status = 'pending'`, [due.invoiceId]);
      const decision = admitRefund(invoice, committed, due.amount, (inFlight.rowCount ?? 0) > 0);
      return insertRefund(client, {
        id: `rfd_${due.creditNoteId}`,
        creditNoteId: due.creditNoteId,
        reason: "credit_note",
        invoiceId: due.invoiceId,
        amount: due.amount,
        currency: due.currency,
        status: decision.status,
        failureCode: decision.failureCode,
        createTime: this.deps.clock.now(),
      });
    });
    if (created?.status === "waiting") this.deps.logger.info("refund waits for the invoice's payment to be recorded", { refundId: created.id, invoiceId: created.invoiceId });
    if (created?.status === "pending") await this.send(created);
  }

  /**
   * In the transaction that records payment outcomes (the invoices are locked): a recorded
   * payment releases the refunds waiting for it, and on a voided invoice whatever it took beyond
   * them is refunded automatically; a payment that failed on a voided invoice means nothing will
   * ever be paid, so its waiting refunds fail. Returns the refunds to send once committed.
   */
  async settle(client: PoolClient, settled: SettledPayment[], now: Date): Promise<RefundRecord[]> {
    if (settled.length === 0) return [];
    const waiting = await lockWaitingRefunds(client, settled.map((s) => s.invoiceId));
    const toSend: RefundRecord[] = [];
    for (const s of settled) {
      const mine = waiting.filter((r) => r.invoiceId === s.invoiceId);
      // The common case — paid, open invoice, nothing waiting — costs no statement per payment.
      if (mine.length === 0 && s.invoiceState !== "void") continue;
      if (!s.succeeded) {
        if (s.invoiceState === "void") await setRefundStatuses(client, mine.map((r) => ({ id: r.id, status: "failed", failureCode: "nothing_paid" })), now);
        continue;
      }
      const paid = new Decimal((await getInvoice(client, s.invoiceId))!.amountPaid);
      const decisions = releaseWaiting(paid, new Decimal(await committedRefundTotal(client, s.invoiceId)), mine);
      await setRefundStatuses(client, decisions, now);
      toSend.push(...mine.filter((r) => decisions.find((d) => d.id === r.id)!.status === "pending").map((r) => ({ ...r, status: "pending" as const })));
      if (s.invoiceState !== "void") continue;
      const owed = voidRefundAmount(paid, new Decimal(await committedRefundTotal(client, s.invoiceId)));
      if (owed.isZero()) continue;
      const refund = await insertRefund(client, {
        id: voidRefundId(s.attemptId),
        creditNoteId: "",
        reason: "invoice_voided",
        invoiceId: s.invoiceId,
        amount: owed.toFixed(),
        currency: s.currency,
        status: "pending",
        failureCode: "",
        createTime: now,
      });
      if (refund) {
        this.deps.logger.warn("payment succeeded after its invoice was voided; refunding it", { invoiceId: s.invoiceId, attemptId: s.attemptId, amount: refund.amount });
        toSend.push(refund);
      }
    }
    return toSend;
  }

  /** A voided invoice with nothing in flight will never be paid: its waiting refunds have nothing to return. */
  async giveUpWaiting(client: PoolClient, invoiceId: string, now: Date): Promise<void> {
    const waiting = await lockWaitingRefunds(client, [invoiceId]);
    await setRefundStatuses(client, waiting.map((r) => ({ id: r.id, status: "failed", failureCode: "nothing_paid" })), now);
  }

  /** Sends committed pending refunds (after the transaction that made them pending). */
  async sendAll(refunds: RefundRecord[]): Promise<void> {
    for (const r of refunds) await this.send(r);
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
        idempotencyKey: refundIdempotencyKey(refund),
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

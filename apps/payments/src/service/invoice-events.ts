import { fromBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { allSubjectsOf, invoicing, SUBJECTS } from "@tally/contracts";
import { withTransaction, runInTrace, type Clock, type Logger, type Pool, type ReceivedEvent } from "@tally/platform";
import { Decimal } from "@tally/pricing";
import { clearRetries, pendingAttemptOf } from "../adapter/attempt-store";
import { markConsumed, openInvoiceIds, upsertFinalized } from "../adapter/invoice-store";
import type { Collector } from "./collector";
import type { RefundService } from "./refund-service";
import type { InvoiceCopy } from "../domain/invoice";

/** Invoicing's subjects payments consumes, through one consumer so their order is kept. */
export const INVOICING_SUBJECTS = allSubjectsOf("invoicing");

/**
 * Applies invoicing's events: InvoiceFinalized starts collection (amount due > 0),
 * InvoiceVoided stops what is scheduled, CreditNoteIssued refunds refund_due. Idempotent by
 * event id and, underneath, by the attempt and refund keys.
 */
export class InvoiceEventHandler {
  constructor(private readonly deps: { pool: Pool; clock: Clock; collector: Collector; refunds: RefundService; logger: Logger }) {}

  /**
   * Each message is handled in its own trace (the consumer would use the batch's first): the
   * charge, its provider call and the events it publishes continue the trace of the invoice's
   * period close. InvoiceFinalized messages in a row that share a trace (one billing cycle's)
   * are still charged as one batch.
   */
  async handle(messages: ReceivedEvent[]): Promise<void> {
    let finalized: invoicing.InvoiceFinalized[] = [];
    let finalizedTrace: string | undefined;
    const flush = async () => {
      const batch = finalized;
      finalized = [];
      if (batch.length > 0) await runInTrace(finalizedTrace, () => this.finalized(batch));
    };
    for (const m of messages) {
      if (m.subject === SUBJECTS.invoicing.invoiceFinalized) {
        if (m.traceparent !== finalizedTrace) await flush();
        finalizedTrace = m.traceparent;
        finalized.push(fromBinary(invoicing.InvoiceFinalizedSchema, m.data));
        continue;
      }
      await flush(); // keep stream order between kinds
      await runInTrace(m.traceparent, async () => {
        if (m.subject === SUBJECTS.invoicing.invoiceVoided) await this.voided(fromBinary(invoicing.InvoiceVoidedSchema, m.data));
        else if (m.subject === SUBJECTS.invoicing.creditNoteIssued) await this.creditNote(fromBinary(invoicing.CreditNoteIssuedSchema, m.data));
      });
    }
    await flush();
  }

  /**
   * One transaction records the batch's invoices and first attempts; then the provider is asked
   * in the background (Collector.dispatch), so the next messages are not held behind this batch's
   * slowest charge.
   */
  async finalized(events: invoicing.InvoiceFinalized[]): Promise<void> {
    const attempts = await withTransaction(this.deps.pool, async (client) => {
      const fresh = await markConsumed(client, events.map((e) => e.meta?.id ?? ""));
      const invoices: InvoiceCopy[] = events
        .filter((e) => fresh.has(e.meta?.id ?? "") && e.invoice)
        .map((e) => invoiceCopy(e.invoice!))
        .filter((i): i is InvoiceCopy => i !== undefined);
      await upsertFinalized(client, invoices);
      // An invoice voided (or paid) before this event arrived is not charged.
      const open = await openInvoiceIds(client, invoices.map((i) => i.id));
      const owed = invoices.filter((i) => open.has(i.id) && new Decimal(i.amountDue).gt(0));
      return this.deps.collector.createAttempts(client, owed.map((invoice) => ({ invoice, attemptNumber: 1 })));
    });
    await this.deps.collector.dispatch(attempts);
  }

  /**
   * Nothing more is collected on a voided invoice. An attempt still in flight is stopped at the
   * provider (Collector.stopInFlight: canceled if it can be, refunded if it succeeded anyway);
   * with none, refunds waiting for a payment have nothing to wait for.
   */
  private async voided(e: invoicing.InvoiceVoided): Promise<void> {
    const inv = e.invoice;
    if (!inv) return;
    const inFlight = await withTransaction(this.deps.pool, async (client) => {
      if ((await markConsumed(client, [e.meta?.id ?? ""])).size === 0) return undefined;
      const copy = invoiceCopy(inv);
      if (copy) await upsertFinalized(client, [copy]);
      // A paid invoice stays paid (a refund goes through a credit note); anything owed is dropped.
      const { rowCount } = await client.query(`UPDATE invoices SET state = 'void' WHERE id = $1 AND state <> 'paid'`, [inv.id]);
      await clearRetries(client, [inv.id]);
      if (!rowCount) return undefined;
      const pending = await pendingAttemptOf(client, inv.id);
      if (!pending) await this.deps.refunds.giveUpWaiting(client, inv.id, this.deps.clock.now());
      return pending;
    });
    if (inFlight) await this.deps.collector.stopInFlight(inFlight, false);
  }

  private async creditNote(e: invoicing.CreditNoteIssued): Promise<void> {
    const due = e.refundDue;
    if (!e.creditNote || !due || !new Decimal(due.amount || "0").gt(0)) return;
    // No event-id bookkeeping here: one refund per credit note is the refunds table's unique key.
    await this.deps.refunds.request({ creditNoteId: e.creditNote.id, invoiceId: e.creditNote.invoiceId, amount: due.amount, currency: due.currency });
  }
}

function invoiceCopy(inv: invoicing.Invoice): InvoiceCopy | undefined {
  if (!inv.id || !inv.currency) return undefined;
  return {
    id: inv.id,
    customerId: inv.customerId,
    currency: inv.currency,
    amountDue: inv.amountDue || "0",
    state: "open",
    finalizeTime: inv.finalizeTime ? timestampDate(inv.finalizeTime) : new Date(0),
    amountPaid: "0",
    amountRefunded: "0",
  };
}

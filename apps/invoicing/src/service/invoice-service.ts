import { AlreadyExistsError, enqueue, FailedPreconditionError, InvalidArgumentError, withTransaction, type OutboxMessage, type ServiceDeps } from "@tally/platform";
import { moveBalance } from "../adapter/customer-store";
import { getCreditNote, getCreditNoteByKey, getInvoice, insertCreditNote, listCreditNotes, listInvoices, markDraftsStale, setStatus } from "../adapter/invoice-store";
import { pendingAdjustments, releaseAdjustments } from "../adapter/late-adjustment-store";
import { creditNoteBreakdown, type CreditNoteBreakdown } from "../domain/credit-note-breakdown";
import { CreditNoteNotFoundError, InvoiceNotFoundError } from "../domain/errors";
import { newId } from "../domain/ids";
import { isLateCredit } from "../domain/late-usage";
import { issueCreditNote, sameCreditNote, validateCreditNoteRequest, voidInvoice, type CreditNoteRequest } from "../domain/lifecycle";
import type { CreditNote, Invoice, InvoiceStatus } from "../domain/types";
import type { BillingCycle } from "./billing-cycle";
import { creditNoteIssued, invoiceEvent } from "./events";
import { enqueueAll, finalizeDrafts } from "./finalizer";
import { decodeCursor, encodeCursor, pageSize } from "./paging";

export interface DescribedCreditNote {
  note: CreditNote;
  invoice: Invoice;
  breakdown: CreditNoteBreakdown;
}

/** Reads and the explicit invoice operations (FinalizeInvoice, VoidInvoice, CreateCreditNote). */
export class InvoiceService {
  constructor(
    private readonly deps: Pick<ServiceDeps, "pool" | "clock" | "outbox">,
    private readonly cycle: BillingCycle,
  ) {}

  async get(invoiceId: string): Promise<Invoice> {
    if (!invoiceId) throw new InvalidArgumentError({ field: "invoice_id", message: "is required" });
    const i = await getInvoice(this.deps.pool, invoiceId);
    if (!i) throw new InvoiceNotFoundError(invoiceId);
    return i;
  }

  /** Late usage recorded for finalized periods and not billed yet (ListLateAdjustments). */
  async lateAdjustments(customerId: string) {
    // Late credits (credit burned for late usage) are applied as credit by the next invoice, not billed as lines.
    return (await pendingAdjustments(this.deps.pool, customerId)).filter((a) => !isLateCredit(a));
  }

  async list(req: { customerId: string; status: InvoiceStatus | undefined; pageSize: number; pageToken: string }) {
    const limit = pageSize(req.pageSize);
    const cursor = decodeCursor(req.pageToken, "page_token", ["periodStart", "id"]);
    const after = cursor ? { periodStart: new Date(cursor.periodStart!), id: cursor.id! } : undefined;
    const rows = await listInvoices(this.deps.pool, { customerId: req.customerId, status: req.status, after, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { invoices: page, nextPageToken: rows.length > limit && last ? encodeCursor({ periodStart: last.period.start.toISOString(), id: last.id }) : "" };
  }

  /** Finalizes one draft now (before its grace period ends); a FINALIZED invoice is returned unchanged. */
  async finalize(invoiceId: string): Promise<Invoice> {
    await this.get(invoiceId);
    const now = this.deps.clock.now();
    const outcome = await withTransaction(this.deps.pool, async (tx) => {
      const i = (await getInvoice(tx, invoiceId, true))!;
      if (i.status === "finalized") return { invoice: i, queued: undefined };
      if (i.status !== "draft") throw new FailedPreconditionError(`invoice "${i.id}" is ${i.status.toUpperCase()}: only a DRAFT can be finalized`, "invalid_invoice_state");
      if (i.period.end.getTime() > now.getTime()) throw new FailedPreconditionError(`invoice "${i.id}": its period has not ended yet`, "period_not_ended");
      const { finalized, messages } = await finalizeDrafts(tx, await this.cycle.reprice(tx, [i], false), now);
      return { invoice: finalized[0]!, queued: await enqueueAll(tx, messages) };
    });
    if (outcome.queued) this.deps.outbox.publishCommitted(outcome.queued);
    return outcome.invoice;
  }

  /**
   * Voids a DRAFT, FINALIZED or UNCOLLECTIBLE unpaid invoice; it keeps its number, any balance it
   * used goes back, and the late adjustments it billed are released for the next invoice.
   */
  async void(invoiceId: string, reason: string): Promise<Invoice> {
    if (reason.length > 1024) throw new InvalidArgumentError({ field: "reason", message: "must be at most 1024 characters" });
    await this.get(invoiceId);
    return this.transition(invoiceId, async (tx, i, now) => {
      const voided = voidInvoice(i, now);
      if (voided === i) return { invoice: i, messages: [] };
      await setStatus(tx, voided);
      await tx.query(`UPDATE invoices SET void_reason = $2 WHERE id = $1`, [i.id, reason]);
      if (i.balanceApplied.gt(0)) await moveBalance(tx, i.customerId, i.balanceApplied, `void:${i.id}`, now);
      // Late adjustments it billed are pending again: the open draft shows them, or the next
      // invoice (a final adjustments invoice if none is coming) takes them, once.
      await markDraftsStale(tx, await releaseAdjustments(tx, i.id));
      return { invoice: voided, messages: [invoiceEvent("voided", voided, now)] };
    });
  }

  async createCreditNote(invoiceId: string, r: CreditNoteRequest): Promise<CreditNote> {
    validateCreditNoteRequest({ ...r, invoiceId });
    const earlier = await getCreditNoteByKey(this.deps.pool, r.idempotencyKey);
    if (earlier) return this.replay(earlier, invoiceId, r);
    await this.get(invoiceId);
    let note: CreditNote | undefined;
    try {
      await this.transition(invoiceId, async (tx, i, now) => {
        const issued = issueCreditNote(i, r, newId("cn"), now);
        note = issued.note;
        await insertCreditNote(tx, issued.note);
        await setStatus(tx, issued.invoice);
        if (issued.note.balanceCredited.gt(0)) await moveBalance(tx, i.customerId, issued.note.balanceCredited, issued.note.id, now);
        const messages = [creditNoteIssued(issued.note, issued.invoice, now)];
        if (issued.invoice.status === "paid" && i.status !== "paid") messages.push(invoiceEvent("paid", issued.invoice, now));
        return { invoice: issued.invoice, messages };
      });
    } catch (err) {
      // The same key committed concurrently: answer as a retry would.
      const raced = await getCreditNoteByKey(this.deps.pool, r.idempotencyKey);
      if (raced) return this.replay(raced, invoiceId, r);
      throw err;
    }
    return note!;
  }

  /** One credit note with the invoice it credits and what it credits (GetCreditNote, its document). */
  async creditNote(creditNoteId: string): Promise<DescribedCreditNote> {
    if (!creditNoteId) throw new InvalidArgumentError({ field: "credit_note_id", message: "is required" });
    const note = await getCreditNote(this.deps.pool, creditNoteId);
    if (!note) throw new CreditNoteNotFoundError(creditNoteId);
    const described = (await this.creditNotes(note.invoiceId)).find((d) => d.note.id === note.id);
    return described!;
  }

  /** An invoice's credit notes, oldest first, each with its number and breakdown (ListCreditNotes). */
  async creditNotes(invoiceId: string): Promise<DescribedCreditNote[]> {
    const invoice = await this.get(invoiceId);
    const notes = await listCreditNotes(this.deps.pool, invoiceId);
    return notes.map((note, i) => ({ note, invoice, breakdown: creditNoteBreakdown(invoice, note, i + 1) }));
  }

  private replay(n: CreditNote, invoiceId: string, r: CreditNoteRequest): CreditNote {
    if (!sameCreditNote(n, invoiceId, r)) throw new AlreadyExistsError(`idempotency_key "${r.idempotencyKey}" was used for another credit note (${n.id})`, "idempotency_key_reused");
    return n;
  }

  /** Locks the invoice, applies `change`, enqueues its events, commits, publishes. */
  private async transition(
    invoiceId: string,
    change: (tx: Parameters<Parameters<typeof withTransaction>[1]>[0], i: Invoice, now: Date) => Promise<{ invoice: Invoice; messages: OutboxMessage[] }>,
  ): Promise<Invoice> {
    const now = this.deps.clock.now();
    const outcome = await withTransaction(this.deps.pool, async (tx) => {
      const i = await getInvoice(tx, invoiceId, true);
      if (!i) throw new InvoiceNotFoundError(invoiceId);
      const { invoice, messages } = await change(tx, i, now);
      return { invoice, queued: messages.length ? await enqueue(tx, messages, { notify: false }) : undefined };
    });
    if (outcome.queued) this.deps.outbox.publishCommitted(outcome.queued);
    return outcome.invoice;
  }
}

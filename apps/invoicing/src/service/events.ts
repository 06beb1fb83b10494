import { invoicing as pb, SUBJECTS } from "@tally/contracts";
import { continueTrace, eventMessage, formatTraceparent, parseTraceparent, type OutboxMessage } from "@tally/platform";
import { minorUnitDigits } from "@tally/pricing";
import { creditNoteToWire, invoiceToWire } from "../adapter/wire";
import type { CreditNote, Invoice } from "../domain/types";

type Transition = "finalized" | "voided" | "paid" | "uncollectible";

const EVENTS = {
  finalized: { schema: pb.InvoiceFinalizedSchema, subject: SUBJECTS.invoicing.invoiceFinalized },
  voided: { schema: pb.InvoiceVoidedSchema, subject: SUBJECTS.invoicing.invoiceVoided },
  paid: { schema: pb.InvoicePaidSchema, subject: SUBJECTS.invoicing.invoicePaid },
  uncollectible: { schema: pb.InvoiceMarkedUncollectibleSchema, subject: SUBJECTS.invoicing.invoiceMarkedUncollectible },
} as const;

/** Ids derive from the fact announced, so a retried transaction publishes the same id (stored once). */
export function invoiceEvent(kind: Transition, invoice: Invoice, now: Date): OutboxMessage {
  const { schema, subject } = EVENTS[kind];
  const message = eventMessage(schema as typeof pb.InvoiceFinalizedSchema, subject, `invoice-${kind}:${invoice.id}`, now, { invoice: invoiceToWire(invoice) });
  return kind === "finalized" ? inTraceOfClose(message, invoice) : message;
}

/**
 * InvoiceFinalized goes out in the trace of the period close that created the invoice (a new
 * span of it), not in that of whatever finalized it (a later cycle, a FinalizeInvoice call): so
 * payments charges it in the same trace, and one trace id runs from close to payment. Without a
 * stored trace (an invoice older than the column) the outbox uses the current one, as before.
 */
function inTraceOfClose(message: OutboxMessage, invoice: Invoice): OutboxMessage {
  const close = parseTraceparent(invoice.traceparent);
  return close ? { ...message, traceparent: formatTraceparent(continueTrace(close)) } : message;
}

export function creditNoteIssued(note: CreditNote, invoice: Invoice, now: Date): OutboxMessage {
  return eventMessage(pb.CreditNoteIssuedSchema, SUBJECTS.invoicing.creditNoteIssued, `credit-note-issued:${note.id}`, now, {
    creditNote: creditNoteToWire(note),
    invoice: invoiceToWire(invoice),
    refundDue: { currency: note.currency, amount: note.refundDue.toFixed(minorUnitDigits(note.currency)) },
  });
}

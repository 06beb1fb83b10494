import { invoicing as pb, SUBJECTS } from "@tally/contracts";
import { eventMessage, type OutboxMessage } from "@tally/platform";
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
  return eventMessage(schema as typeof pb.InvoiceFinalizedSchema, subject, `invoice-${kind}:${invoice.id}`, now, { invoice: invoiceToWire(invoice) });
}

export function creditNoteIssued(note: CreditNote, invoice: Invoice, now: Date): OutboxMessage {
  return eventMessage(pb.CreditNoteIssuedSchema, SUBJECTS.invoicing.creditNoteIssued, `credit-note-issued:${note.id}`, now, {
    creditNote: creditNoteToWire(note),
    invoice: invoiceToWire(invoice),
    refundDue: { currency: note.currency, amount: note.refundDue.toFixed(minorUnitDigits(note.currency)) },
  });
}

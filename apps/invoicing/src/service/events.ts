import { create, toBinary } from "@bufbuild/protobuf";
import { invoicing as pb } from "@tally/contracts";
import type { OutboxMessage } from "@tally/platform";
import { minorUnitDigits } from "@tally/pricing";
import { creditNoteToWire, invoiceToWire, ts } from "../adapter/wire";
import type { CreditNote, Invoice } from "../domain/types";

/** Subjects invoicing publishes on (proto/tally/invoicing/v1/events.proto). */
export const SUBJECTS = {
  finalized: "tally.invoicing.v1.invoice.finalized",
  voided: "tally.invoicing.v1.invoice.voided",
  paid: "tally.invoicing.v1.invoice.paid",
  uncollectible: "tally.invoicing.v1.invoice.marked_uncollectible",
  creditNoteIssued: "tally.invoicing.v1.credit_note.issued",
} as const;

const SOURCE = "tally.invoicing";

/** Ids derive from the fact announced, so a retried transaction publishes the same id (stored once). */
function meta(id: string, subject: string, now: Date) {
  return { id, source: SOURCE, subject, time: ts(now) };
}

type Transition = "finalized" | "voided" | "paid" | "uncollectible";

const SCHEMAS = {
  finalized: pb.InvoiceFinalizedSchema,
  voided: pb.InvoiceVoidedSchema,
  paid: pb.InvoicePaidSchema,
  uncollectible: pb.InvoiceMarkedUncollectibleSchema,
} as const;

export function invoiceEvent(kind: Transition, invoice: Invoice, now: Date): OutboxMessage {
  const subject = SUBJECTS[kind];
  const id = `invoice-${kind}:${invoice.id}`;
  const schema = SCHEMAS[kind];
  const payload = toBinary(schema, create(schema, { meta: meta(id, subject, now), invoice: invoiceToWire(invoice) }));
  return { subject, msgId: id, payload };
}

export function creditNoteIssued(note: CreditNote, invoice: Invoice, now: Date): OutboxMessage {
  const id = `credit-note-issued:${note.id}`;
  const message = create(pb.CreditNoteIssuedSchema, {
    meta: meta(id, SUBJECTS.creditNoteIssued, now),
    creditNote: creditNoteToWire(note),
    invoice: invoiceToWire(invoice),
    refundDue: { currency: note.currency, amount: note.refundDue.toFixed(minorUnitDigits(note.currency)) },
  });
  return { subject: SUBJECTS.creditNoteIssued, msgId: id, payload: toBinary(pb.CreditNoteIssuedSchema, message) };
}

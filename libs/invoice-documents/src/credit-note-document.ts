import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { invoicing } from "@tally/contracts";
import { formatDate, formatDateRange, formatMoney, formatPercent } from "./format";
import type { DateRange, Party, TaxLine } from "./invoice-document";
import { presentParty, type PresentedParty } from "./present-invoice";

/**
 * What a credit note document shows. As for invoices, every figure is invoicing's own
 * (GetCreditNote: the lines and taxes it credits, allocated there to the minor unit); the
 * renderers only format them.
 */
export interface CreditNoteDocument {
  /** e.g. "TLY-000123-CN-01". */
  number: string;
  issueDate: Date;
  currency: string;
  /** IANA time zone dates are printed in; default UTC. */
  timeZone?: string;
  reason: string;
  issuer: Party;
  customer: Party;
  /** The invoice credited. */
  invoice: { number: string; issueDate?: Date; period: DateRange };
  /** Invoice lines credited: what the invoice charged and what this note credits on it. */
  lines: { description: string; invoiceAmount: string; amount: string }[];
  /** Credited before tax: Σ lines. */
  netAmount: string;
  /** Tax credited per rate; empty when the invoice had none. */
  taxes: TaxLine[];
  /** The credit note's amount: net + taxes. */
  total: string;
  /** Money to pay back to the customer (the invoice was paid); "0" otherwise. */
  refundDue: string;
  /** Added to the customer's balance for their next invoice; "0" otherwise. */
  balanceCredited: string;
}

/**
 * Maps GetCreditNote's message and the invoice it credits (GetInvoice) to the document input;
 * the caller supplies who issues and who is credited, as for invoices.
 */
export function creditNoteDocumentFromProto(
  note: invoicing.CreditNote,
  invoice: invoicing.Invoice,
  parties: { issuer: Party; customer: Party; timeZone?: string },
): CreditNoteDocument {
  const start = date(invoice.period?.start);
  const end = date(invoice.period?.end);
  const issued = date(note.createTime);
  if (!start || !end || !issued) throw new Error(`credit note ${note.id}: its time and its invoice's period are required to print it`);
  const currency = note.amount?.currency || invoice.currency;
  return {
    number: note.number || note.id,
    issueDate: issued,
    currency,
    timeZone: parties.timeZone,
    reason: note.reason,
    issuer: parties.issuer,
    customer: parties.customer,
    invoice: { number: note.invoiceNumber || invoice.number || invoice.id, issueDate: date(invoice.finalizeTime), period: { start, end } },
    lines: note.lines.map((l) => ({ description: l.description, invoiceAmount: l.invoiceAmount, amount: l.amount })),
    netAmount: note.netAmount || note.amount?.amount || "0",
    taxes: note.taxLines.map((t) => ({ name: t.name, ratePercent: t.percent, taxableAmount: t.taxableAmount, amount: t.amount })),
    total: note.amount?.amount || "0",
    refundDue: note.refundDue?.amount || "0",
    balanceCredited: note.balanceCredited?.amount || "0",
  };
}

const date = (t: Timestamp | undefined): Date | undefined => (t ? timestampDate(t) : undefined);

/** Every string a credit note document prints, formatted once for the HTML and the PDF. */
export interface PresentedCreditNote {
  title: string;
  number: string;
  facts: { label: string; value: string }[];
  issuer: PresentedParty;
  customer: PresentedParty;
  reason: string;
  lines: { description: string; invoiceAmount: string; amount: string }[];
  totals: { label: string; value: string; emphasis: boolean }[];
  /** What happens to the money, in a sentence. */
  settlement: string;
}

export function presentCreditNote(doc: CreditNoteDocument): PresentedCreditNote {
  const zone = doc.timeZone ?? "UTC";
  const money = (amount: string) => formatMoney(amount, doc.currency);
  const row = (label: string, value: string, emphasis = false) => ({ label, value, emphasis });
  const refund = !isZero(doc.refundDue);
  const toBalance = !isZero(doc.balanceCredited);
  return {
    title: "Credit note",
    number: doc.number,
    facts: [
      { label: "Credit note number", value: doc.number },
      { label: "Issue date", value: formatDate(doc.issueDate, zone) },
      { label: "Credits invoice", value: doc.invoice.number },
      ...(doc.invoice.issueDate ? [{ label: "Invoice date", value: formatDate(doc.invoice.issueDate, zone) }] : []),
      { label: "Billing period", value: formatDateRange(doc.invoice.period, zone) },
      { label: "Currency", value: doc.currency },
    ],
    issuer: presentParty(doc.issuer),
    customer: presentParty(doc.customer),
    reason: doc.reason,
    lines: doc.lines.map((l) => ({ description: l.description, invoiceAmount: money(l.invoiceAmount), amount: money(l.amount) })),
    totals: [
      row("Credited before tax", money(doc.netAmount)),
      ...doc.taxes.map((t) => row(t.ratePercent ? `${t.name} (${formatPercent(t.ratePercent)})` : t.name, money(t.amount))),
      row("Total credited", money(doc.total), !refund && !toBalance),
      ...(refund ? [row("Refund owed", money(doc.refundDue), true)] : []),
      ...(toBalance ? [row("Balance credited", money(doc.balanceCredited), true)] : []),
    ],
    settlement: refund
      ? `${money(doc.refundDue)} is refunded to you.`
      : toBalance
        ? `${money(doc.balanceCredited)} is added to your balance and applied to your next invoice.`
        : `Invoice ${doc.invoice.number} is reduced by ${money(doc.total)}.`,
  };
}

const isZero = (value: string) => /^-?0*(\.0*)?$/.test(value);

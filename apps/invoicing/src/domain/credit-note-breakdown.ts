import { type Decimal, minorUnitDigits } from "@tally/pricing";
import { allocateLargestRemainder, type TaxLine } from "./invoice-amounts";
import type { CreditNote, Invoice } from "./types";

/** What a credit note credits, as its document prints it. */
export interface CreditNoteBreakdown {
  /** "<invoice number>-CN-<ordinal>", e.g. "TLY-000123-CN-01". */
  number: string;
  /** The part of the amount that credits charges, before tax. */
  netAmount: Decimal;
  /** The invoice lines credited (pro rata to their rounded amounts); Σ amount = netAmount. */
  lines: { ref: string; description: string; amount: Decimal; invoiceAmount: Decimal }[];
  /** Tax credited per rate of the invoice; netAmount + Σ amount = the note's amount. */
  taxLines: TaxLine[];
}

/**
 * A credit note's number: the invoice's number, "-CN-" and the note's 1-based ordinal among that
 * invoice's notes by issue time, at least two digits. Notes are never deleted and an invoice's
 * number never changes once finalized (credit notes need a finalized invoice), so the number is
 * stable without a sequence of its own (the same scheme as Stripe's credit notes).
 */
export function creditNoteNumber(invoiceNumber: string, ordinal: number): string {
  return `${invoiceNumber}-CN-${String(ordinal).padStart(2, "0")}`;
}

/**
 * Splits a credit note over what the invoice charged. A credit note takes a gross amount off
 * what is owed (amount due includes taxes), so it credits charges and taxes in the invoice's
 * proportions: of the invoice's gross (taxable amount + taxes), `taxable` goes to the charges and
 * each rate's tax to that rate. The net part is then spread over the invoice's lines in
 * proportion to their rounded amounts (a negative maximum adjustment takes its negative share).
 * Both splits use the largest-remainder allocation of invoice-amounts.ts, so every figure is in
 * the minor unit and they add up exactly: Σ lines = net, net + Σ taxes = amount.
 *
 * Credits applied on the invoice are already out of its taxable amount; the customer balance it
 * used is not a charge, so it does not change the proportions.
 */
export function creditNoteBreakdown(invoice: Invoice, note: CreditNote, ordinal: number): CreditNoteBreakdown {
  const digits = minorUnitDigits(invoice.currency);
  const number = creditNoteNumber(invoice.number || invoice.id, ordinal);
  const gross = invoice.taxableAmount.plus(invoice.taxTotal);
  if (gross.lte(0)) return { number, netAmount: note.amount, lines: [], taxLines: [] };
  const shares = [invoice.taxableAmount, ...invoice.taxLines.map((t) => t.amount)].map((part) => note.amount.times(part).div(gross));
  const [net, ...taxes] = allocateLargestRemainder(note.amount, shares, digits);
  const netAmount = net!;
  const lines =
    invoice.total.isZero()
      ? []
      : allocateLargestRemainder(
          netAmount,
          invoice.lines.map((l) => netAmount.times(l.roundedAmount).div(invoice.total)),
          digits,
        )
          .map((amount, i) => ({ ref: invoice.lines[i]!.ref, description: invoice.lines[i]!.description, amount, invoiceAmount: invoice.lines[i]!.roundedAmount }))
          .filter((l) => !l.amount.isZero());
  return {
    number,
    netAmount,
    lines,
    taxLines: invoice.taxLines.map((t, i) => ({ name: t.name, percent: t.percent, taxableAmount: netAmount, amount: taxes[i]! })),
  };
}

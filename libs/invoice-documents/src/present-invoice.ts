import type { DocumentLine, InvoiceDocument, Party, TierStep } from "./invoice-document";
import { formatDate, formatDateRange, formatFraction, formatMoney, formatPercent, formatPreciseMoney, formatQuantity } from "./format";

/**
 * Every string an invoice document prints, formatted once here so the HTML and the PDF show the
 * same figures and only differ in layout.
 */
export interface PresentedInvoice {
  title: string;
  number: string;
  status: string;
  currency: string;
  facts: { label: string; value: string }[];
  issuer: PresentedParty;
  customer: PresentedParty;
  /** Set when the period was split between plans. */
  prorations: { plan: string; range: string; share: string }[];
  lines: PresentedLine[];
  totals: { label: string; value: string; emphasis: boolean }[];
}

export interface PresentedParty {
  name: string;
  lines: string[];
}

export interface PresentedLine {
  description: string;
  /** The segment's dates, shown when the period was prorated. */
  note: string;
  quantity: string;
  amount: string;
  steps: { label: string; quantity: string; unitAmount: string; flatAmount: string; subtotal: string }[];
}

const STATUS_LABEL: Record<InvoiceDocument["status"], string> = {
  draft: "Draft",
  finalized: "Open",
  paid: "Paid",
  void: "Void",
  uncollectible: "Uncollectible",
};

export function presentInvoice(doc: InvoiceDocument): PresentedInvoice {
  const zone = doc.timeZone ?? "UTC";
  const money = (amount: string) => formatMoney(amount, doc.currency);
  const prorated = doc.segments.length > 1;
  const facts = [
    { label: "Invoice number", value: doc.number || "Draft (not yet numbered)" },
    ...(doc.issueDate ? [{ label: "Issue date", value: formatDate(doc.issueDate, zone) }] : []),
    ...(doc.dueDate ? [{ label: "Due date", value: formatDate(doc.dueDate, zone) }] : []),
    ...(doc.paidDate ? [{ label: "Paid on", value: formatDate(doc.paidDate, zone) }] : []),
    { label: "Billing period", value: formatDateRange(doc.period, zone) },
    { label: "Currency", value: doc.currency },
  ];
  return {
    title: doc.status === "draft" ? "Draft invoice" : "Invoice",
    number: doc.number,
    status: STATUS_LABEL[doc.status],
    currency: doc.currency,
    facts,
    issuer: presentParty(doc.issuer),
    customer: presentParty(doc.customer),
    prorations: prorated
      ? doc.segments.map((s) => ({ plan: `${s.planKey} v${s.planVersion}`, range: formatDateRange(s.range, zone), share: formatFraction(s.fraction) }))
      : [],
    lines: doc.lines.map((line) => presentLine(line, doc.currency, lineNote(line, zone, prorated))),
    totals: presentTotals(doc, money),
  };
}

/**
 * The totals in the order invoicing computes them: credits come off the subtotal, taxes are on
 * what remains, the customer's balance comes off last. Rows that would only print a zero the
 * invoice did not use (no balance, no payment yet) are left out; credits and taxes always show.
 */
function presentTotals(doc: InvoiceDocument, money: (amount: string) => string): PresentedInvoice["totals"] {
  const row = (label: string, value: string, emphasis = false) => ({ label, value, emphasis });
  const settled = !isZero(doc.amountPaid) || !isZero(doc.amountCredited);
  return [
    row("Subtotal", money(doc.subtotal)),
    row("Credits applied", money(negate(doc.creditsApplied))),
    ...(doc.taxes.length > 0 || doc.taxExempt ? [row("Taxable amount", money(doc.taxableAmount))] : []),
    ...doc.taxes.map((t) => row(t.ratePercent ? `${t.name} (${formatPercent(t.ratePercent)})` : t.name, money(t.amount))),
    ...(doc.taxExempt ? [row("Tax (customer exempt)", money("0"))] : []),
    ...(isZero(doc.balanceApplied) ? [] : [row("Balance applied", money(negate(doc.balanceApplied)))]),
    row("Amount due", money(doc.amountDue), !settled),
    ...(isZero(doc.amountCredited) ? [] : [row("Credit notes", money(negate(doc.amountCredited)))]),
    ...(isZero(doc.amountPaid) ? [] : [row("Paid", money(negate(doc.amountPaid)))]),
    ...(settled ? [row("Outstanding", money(doc.outstanding), true)] : []),
  ];
}

/** Under a line: its plan segment when the period was prorated; for late usage, the earlier period it belongs to. */
function lineNote(line: DocumentLine, zone: string, prorated: boolean): string {
  if (line.kind === "late_usage_adjustment") return `Usage period ${formatDateRange(line.period, zone)}`;
  return prorated ? formatDateRange(line.period, zone) : "";
}

export function presentParty(party: Party): PresentedParty {
  return { name: party.name, lines: [...party.address, ...(party.reference ? [party.reference] : []), ...(party.email ? [party.email] : [])] };
}

function presentLine(line: DocumentLine, currency: string, note: string): PresentedLine {
  const quantity = line.kind === "recurring_fee" ? `${formatFraction(line.quantity)} of period` : formatQuantity(line.quantity);
  return {
    description: line.description,
    note,
    quantity,
    amount: formatMoney(line.amount, currency),
    steps: line.tiers.map((step) => ({
      label: stepLabel(step),
      quantity: formatQuantity(step.quantity),
      unitAmount: formatPreciseMoney(step.unitAmount, currency),
      flatAmount: isZero(step.flatAmount) ? "" : formatPreciseMoney(step.flatAmount, currency),
      subtotal: formatPreciseMoney(step.subtotal, currency),
    })),
  };
}

function stepLabel(step: TierStep): string {
  if (step.included) return "Included units";
  if (!step.lowerBound && !step.upperBound) return "Usage";
  const range = step.upperBound
    ? `${formatQuantity(step.lowerBound || "0")} – ${formatQuantity(step.upperBound)}`
    : `above ${formatQuantity(step.lowerBound || "0")}`;
  return `Tier ${step.tierIndex + 1} (${range})`;
}

// Decimal strings only ever need sign handling here; no arithmetic on money happens in documents.
const isZero = (value: string) => /^-?0*(\.0*)?$/.test(value);
const negate = (value: string) => (isZero(value) ? "0" : value.startsWith("-") ? value.slice(1) : `-${value}`);

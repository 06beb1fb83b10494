import { Decimal } from "@tally/pricing";
import type { Invoice, InvoiceLine, LineKind, Period, PricedPeriod } from "./types";

/** The part of one line of an issued invoice that rating priced after the invoice was finalized. */
export interface LateAdjustment {
  id: string;
  subscriptionId: string;
  customerId: string;
  sourceInvoiceId: string;
  sourceRef: string;
  /** The source line's kind, or `late_credit`: credit limits burned for the period after it was invoiced. */
  kind: LineKind | typeof LATE_CREDIT;
  componentKey: string;
  dimensionValue: string;
  /** The source invoice's period. */
  period: Period;
  /** The source line's range (its plan segment). */
  linePeriod: Period;
  currency: string;
  quantity: Decimal;
  amount: Decimal;
  createTime: Date;
  /** The invoice that bills it; "" while pending. */
  invoiceId: string;
}

/**
 * Limits burns prepaid credit when it consumes rating's running amounts, so late usage of an issued
 * period burns more of that period's credit after the invoice took its credits. That credit is a
 * late adjustment of its own (source_ref `credits`, quantity 0, amount = credit burned, negative
 * when limits gave credit back) which the next invoice applies as credit, never as a line.
 */
export const LATE_CREDIT = "late_credit";

export function isLateCredit(a: Pick<LateAdjustment, "kind">): boolean {
  return a.kind === LATE_CREDIT;
}

/**
 * Credit limits' ledger burned for an issued invoice's period that the invoice did not take: the
 * ledger's burn now minus what the invoice took (`creditsBurned`) minus late credits recorded
 * before. Empty when nothing changed, so running it again adds nothing.
 */
export function lateCredit(issued: Invoice, ledgerBurn: Decimal, earlier: readonly LateAdjustment[], createTime: Date, newId: () => string): LateAdjustment[] {
  const recorded = earlier.filter(isLateCredit).reduce((s, a) => s.plus(a.amount), issued.creditsBurned);
  const amount = ledgerBurn.minus(recorded);
  if (amount.isZero()) return [];
  return [
    {
      id: newId(),
      subscriptionId: issued.subscriptionId,
      customerId: issued.customerId,
      sourceInvoiceId: issued.id,
      sourceRef: "credits",
      kind: LATE_CREDIT,
      componentKey: "",
      dimensionValue: "",
      period: issued.period,
      linePeriod: issued.period,
      currency: issued.currency,
      quantity: new Decimal(0),
      amount,
      createTime,
      invoiceId: "",
    },
  ];
}

/** Line kinds that late usage moves; fees do not depend on usage. */
const USAGE_DRIVEN: ReadonlySet<LineKind> = new Set(["usage", "minimum_true_up", "maximum_adjustment"]);

/**
 * What an issued invoice is still missing: for each usage-driven line, the period as rating prices
 * it now minus what the invoice billed and minus earlier adjustments of that line. Empty when
 * nothing changed, so running it again (redelivery, a second instance) adds nothing.
 */
export function lateDifferences(issued: Invoice, now: PricedPeriod, earlier: readonly LateAdjustment[], createTime: Date, newId: () => string): LateAdjustment[] {
  const billed = new Map<string, { line: Omit<InvoiceLine, "roundedAmount">; quantity: Decimal; amount: Decimal }>();
  const add = (line: Omit<InvoiceLine, "roundedAmount">, quantity: Decimal, amount: Decimal) => {
    const b = billed.get(line.ref);
    billed.set(line.ref, { line: b?.line ?? line, quantity: (b?.quantity ?? new Decimal(0)).plus(quantity), amount: (b?.amount ?? new Decimal(0)).plus(amount) });
  };
  for (const l of issued.lines) if (USAGE_DRIVEN.has(l.kind)) add(l, l.quantity, l.amount);
  for (const a of earlier) if (!isLateCredit(a)) add({ ...toLine(a), ref: a.sourceRef, kind: a.kind as LineKind, period: a.linePeriod }, a.quantity, a.amount);
  const out: LateAdjustment[] = [];
  const difference = (line: Omit<InvoiceLine, "roundedAmount">, quantity: Decimal, amount: Decimal) => {
    if (quantity.isZero() && amount.isZero()) return;
    out.push({
      id: newId(),
      subscriptionId: issued.subscriptionId,
      customerId: issued.customerId,
      sourceInvoiceId: issued.id,
      sourceRef: line.ref,
      kind: line.kind,
      componentKey: line.componentKey,
      dimensionValue: line.dimensionValue,
      period: issued.period,
      linePeriod: line.period,
      currency: issued.currency,
      quantity: line.kind === "usage" ? quantity : new Decimal(0),
      amount,
      createTime,
      invoiceId: "",
    });
  };
  const seen = new Set<string>();
  for (const l of now.lines) {
    if (!USAGE_DRIVEN.has(l.kind)) continue;
    seen.add(l.ref);
    const b = billed.get(l.ref);
    difference(l, l.quantity.minus(b?.quantity ?? 0), l.amount.minus(b?.amount ?? 0));
  }
  for (const [ref, b] of billed) if (!seen.has(ref)) difference(b.line, b.quantity.neg(), b.amount.neg());
  return out;
}

/** "usage from 2026-11-01 to 2026-12-01 received after invoicing" (the period's UTC bounds). */
export function lateDescription(period: Period): string {
  const day = (d: Date) => d.toISOString().slice(0, 10);
  return `usage from ${day(period.start)} to ${day(period.end)} received after invoicing`;
}

/** The adjustment as a line of the invoice that bills it (its period is the earlier one). */
export function toLine(a: LateAdjustment): Omit<InvoiceLine, "roundedAmount"> {
  return {
    ref: `late/${a.id}`,
    kind: "late_usage_adjustment",
    componentKey: a.componentKey,
    dimensionValue: a.dimensionValue,
    description: lateDescription(a.period),
    quantity: a.quantity,
    amount: a.amount,
    period: a.period,
    details: [],
  };
}

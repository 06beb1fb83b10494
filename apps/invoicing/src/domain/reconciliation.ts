import { createPricer, Decimal, minorUnitDigits, roundToMinorUnit, type Price } from "@tally/pricing";
import { allocateLargestRemainder } from "./invoice-amounts";
import { isLateCredit, type LateAdjustment } from "./late-usage";
import type { Invoice, InvoiceLine, LineKind } from "./types";

/** One mismatch or violated invariant, with the numbers. */
export interface Finding {
  invoiceId: string;
  number: string;
  check: string;
  ref: string;
  expected: string;
  actual: string;
}

/** A plan version as re-derivation needs it, in the pricing library's terms. */
export interface PlanSpec {
  currency: string;
  recurringFee: Decimal | undefined;
  /** In advance: an immediate change credits the unused part of the fee and charges the new one. */
  feeInAdvance: boolean;
  components: ComponentSpec[];
}

export interface ComponentSpec {
  key: string;
  meterKey: string;
  /** Single price, or per dimension value (with a default). */
  price?: Price;
  dimensional?: { dimension: string; prices: Map<string, Price>; defaultPrice: Price | undefined };
}

/** Metered quantity per component key and dimension value ("" when not dimensional), for one segment. */
export type SegmentUsage = Map<string, Map<string, Decimal>>;

/** A reading rating refused because its period had closed: stored by metering, billed by no invoice. */
export interface RefusedReading {
  eventId: string;
  meterKey: string;
  time: Date;
  /** As metering read it: "1" for COUNT, the decimal for SUM/MAX/LATEST, the raw value for UNIQUE_COUNT. */
  value: string;
  group: Record<string, string>;
  /** Rating's detail, e.g. "period [...) closed at ...". */
  reason: string;
}

/** Metered usage of a line that is explained by refused readings: written off, not a mismatch. */
export interface WrittenOff {
  invoiceId: string;
  number: string;
  ref: string;
  quantity: Decimal;
  /** What the line would have billed more, full precision. */
  amount: Decimal;
  reason: string;
  eventIds: string[];
}

/**
 * Whether the refused readings account for metered − billed: added up (COUNT, SUM), or the
 * metered value being one of them (MAX, LATEST: the refused reading is the one that wins).
 */
const DECIMAL = /^-?\d+(\.\d+)?$/;

function explainedBy(metered: Decimal, billed: Decimal, refused: readonly RefusedReading[]): boolean {
  if (!refused.every((r) => DECIMAL.test(r.value))) return false; // UNIQUE_COUNT values: not accounted for
  const decimals = refused.map((r) => new Decimal(r.value));
  const sum = decimals.reduce((total, d) => total.plus(d), new Decimal(0));
  return billed.plus(sum).eq(metered) || (metered.gt(billed) && decimals.some((d) => d.eq(metered)));
}

const finding = (i: Invoice, check: string, ref: string, expected: Decimal | string, actual: Decimal | string): Finding => ({
  invoiceId: i.id,
  number: i.number,
  check,
  ref,
  expected: typeof expected === "string" ? expected : expected.toFixed(),
  actual: typeof actual === "string" ? actual : actual.toFixed(),
});

/** The invoice's own arithmetic and its credits against limits' ledger. */
export function checkArithmetic(i: Invoice, ledgerBurn: Decimal): Finding[] {
  const out: Finding[] = [];
  const c = i.currency;
  const sum = i.lines.reduce((s, l) => s.plus(l.amount), new Decimal(0));
  if (!sum.eq(i.subtotal)) out.push(finding(i, "lines_sum_to_subtotal", "", sum, i.subtotal));
  const total = roundToMinorUnit(i.subtotal, c);
  if (!total.eq(i.total)) out.push(finding(i, "total_rounding", "", total, i.total));
  const printed = i.lines.reduce((s, l) => s.plus(l.roundedAmount), new Decimal(0));
  if (!printed.eq(i.total)) out.push(finding(i, "rounded_lines_sum_to_total", "", i.total, printed));
  const credits = Decimal.max(0, Decimal.min(roundToMinorUnit(ledgerBurn, c), i.total));
  if (!credits.eq(i.creditsApplied)) out.push(finding(i, "credits_match_ledger", "", credits, i.creditsApplied));
  const taxable = Decimal.max(0, i.total.minus(i.creditsApplied));
  if (!taxable.eq(i.taxableAmount)) out.push(finding(i, "taxable_amount", "", taxable, i.taxableAmount));
  for (const t of i.taxLines) {
    const tax = roundToMinorUnit(taxable.times(t.percent).div(100), c);
    if (!tax.eq(t.amount)) out.push(finding(i, "tax_line", t.name, tax, t.amount));
  }
  const due = taxable.plus(i.taxTotal).minus(i.balanceApplied);
  if (!due.eq(i.amountDue) || due.lt(0)) out.push(finding(i, "amount_due", "", due, i.amountDue));
  if (i.amountPaid.plus(i.amountCredited).gt(i.amountDue)) out.push(finding(i, "paid_plus_credited", "", `<= ${i.amountDue.toFixed()}`, i.amountPaid.plus(i.amountCredited)));
  return out;
}

/**
 * Re-derives the invoice's lines from raw usage and the plans: usage quantities must equal what
 * metering stored in each segment (every event billed once), each usage line is re-priced with
 * the pricing library, fees prorated by the segment's share, minimum/maximum adjustments
 * recomputed; each compared to the minor unit. A segment's share is its milliseconds over the
 * NOMINAL period's (the whole interval, `Invoice.nominalPeriod`), so the partial first or last
 * period of a subscription prorates its fee and minimum exactly as an immediate plan change does. Usage metered with no line is reported too. Late
 * usage recorded as adjustments of this invoice (billed on a later one, or pending) counts as
 * billed here: each event once, on its period's invoice or as a later adjustment. Usage rating
 * refused as too late (`refused`) is written off: reported with its reason and amount, and the
 * line re-priced at the quantity that was billable, when those readings account for the gap.
 */
export function rederiveLines(
  i: Invoice,
  plans: Map<number, PlanSpec>,
  usage: Map<number, SegmentUsage>,
  late: readonly LateAdjustment[] = [],
  refused: readonly RefusedReading[] = [],
): { findings: Finding[]; writtenOff: WrittenOff[] } {
  const out: Finding[] = [];
  const writtenOff: WrittenOff[] = [];
  const lines = withLateAdjustments(i.lines, late);
  const digits = minorUnitDigits(i.currency);
  const minor = (d: Decimal) => d.toDecimalPlaces(digits, Decimal.ROUND_HALF_EVEN);
  const nominal = i.nominalPeriod ?? i.period;
  const periodMs = nominal.end.getTime() - nominal.start.getTime();
  const expected = new Map<string, Decimal>();
  if (nominal.start.getTime() > i.period.start.getTime() || nominal.end.getTime() < i.period.end.getTime()) {
    out.push(finding(i, "nominal_period", "", `contains ${i.period.start.toISOString()}..${i.period.end.toISOString()}`, `${nominal.start.toISOString()}..${nominal.end.toISOString()}`));
  }
  const shareFrom = (t: Date) => new Decimal(i.period.end.getTime() - t.getTime()).div(periodMs);
  for (const [n, seg] of i.segments.entries()) {
    const key = seg.range.start.getTime();
    const plan = plans.get(key);
    const metered = usage.get(key) ?? new Map<string, Map<string, Decimal>>();
    if (!plan) continue;
    const share = new Decimal(seg.range.end.getTime() - seg.range.start.getTime()).div(periodMs).toDecimalPlaces(12, Decimal.ROUND_HALF_EVEN);
    const base = seg.range.start.toISOString();
    const replaced = plan.feeInAdvance && i.segments[n + 1]?.range.start.getTime() === seg.range.end.getTime();
    if (plan.recurringFee && replaced) {
      expected.set(`${base}/fee`, plan.recurringFee.times(shareFrom(seg.range.start)));
      expected.set(`${base}/fee-credit`, plan.recurringFee.times(shareFrom(seg.range.end)).neg());
    } else if (plan.recurringFee) expected.set(`${base}/fee`, plan.recurringFee.times(share));
    for (const comp of plan.components) {
      const byValue = new Map(metered.get(comp.key) ?? new Map<string, Decimal>());
      const billed = lines.filter((l) => l.kind === "usage" && l.componentKey === comp.key && l.period.start.getTime() === key);
      const priceOf = (value: string) => comp.price ?? comp.dimensional?.prices.get(value) ?? comp.dimensional?.defaultPrice;
      for (const [value, q] of byValue) {
        const line = billed.find((l) => l.dimensionValue === value);
        const billedQ = line?.quantity ?? new Decimal(0);
        if (billedQ.eq(q)) continue;
        const ref = line?.ref ?? `${base}/usage/${comp.key}${comp.dimensional ? `/${value}` : ""}`;
        const refusedHere = refused.filter(
          (r) =>
            r.meterKey === comp.meterKey &&
            r.time.getTime() >= seg.range.start.getTime() &&
            r.time.getTime() < seg.range.end.getTime() &&
            (comp.dimensional ? (r.group[comp.dimensional.dimension] ?? "") : "") === value,
        );
        const price = priceOf(value);
        if (refusedHere.length > 0 && explainedBy(q, billedQ, refusedHere)) {
          const amount = (x: Decimal) => (price ? createPricer({ model: price.model, includedUnits: price.includedUnits }).amount(x) : new Decimal(0));
          writtenOff.push({ invoiceId: i.id, number: i.number, ref, quantity: q.minus(billedQ), amount: amount(q).minus(amount(billedQ)), reason: refusedHere[0]!.reason, eventIds: refusedHere.map((r) => r.eventId) });
          // Re-priced at what was billable: the written-off part is explained, not re-billed.
          byValue.set(value, billedQ);
          continue;
        }
        out.push(finding(i, "usage_billed", ref, q, line ? line.quantity : "0"));
      }
      for (const line of billed) {
        const q = byValue.get(line.dimensionValue) ?? new Decimal(0);
        if (!byValue.has(line.dimensionValue) && !line.quantity.isZero()) out.push(finding(i, "usage_billed", line.ref, "0", line.quantity));
        const price = priceOf(line.dimensionValue);
        if (!price) continue;
        expected.set(line.ref, createPricer({ model: price.model, includedUnits: price.includedUnits }).amount(q));
        if (comp.price && (price.minimum || price.maximum)) {
          const prorate = (d: Decimal | undefined) => d && d.times(share).toDecimalPlaces(12, Decimal.ROUND_HALF_EVEN);
          const full = createPricer({ model: price.model, includedUnits: price.includedUnits, minimum: prorate(price.minimum), maximum: prorate(price.maximum) }).amount(q);
          const usageAmount = expected.get(line.ref)!;
          const adj = full.minus(usageAmount);
          const adjLines = lines.filter((l) => (l.kind === "minimum_true_up" || l.kind === "maximum_adjustment") && l.componentKey === comp.key && l.period.start.getTime() === key);
          const actual = adjLines.reduce((s, l) => s.plus(l.amount), new Decimal(0));
          if (!minor(adj).eq(minor(actual))) out.push(finding(i, "line_amount", `${base}/adjustments/${comp.key}`, minor(adj), minor(actual)));
        }
      }
    }
  }
  for (const line of lines) {
    const e = expected.get(line.ref);
    if (e === undefined) continue;
    if (!minor(e).eq(minor(line.amount))) out.push(finding(i, "line_amount", line.ref, minor(e), minor(line.amount)));
  }
  // The printed lines must be the largest-remainder allocation of the total.
  const allocated = allocateLargestRemainder(i.total, i.lines.map((l) => l.amount), digits);
  i.lines.forEach((l, n) => {
    if (!allocated[n]!.eq(l.roundedAmount)) out.push(finding(i, "rounded_line", l.ref, allocated[n]!, l.roundedAmount));
  });
  return { findings: out, writtenOff };
}

/** The invoice's lines as billed in the end: each line plus its late adjustments (a line of its own when it had none). */
function withLateAdjustments(lines: readonly InvoiceLine[], late: readonly LateAdjustment[]): InvoiceLine[] {
  const out = lines.map((l) => ({ ...l }));
  for (const a of late) {
    if (isLateCredit(a)) continue;
    const line = out.find((l) => l.ref === a.sourceRef);
    if (line) {
      line.quantity = line.quantity.plus(a.quantity);
      line.amount = line.amount.plus(a.amount);
      continue;
    }
    const { kind, componentKey, dimensionValue, quantity, amount } = a;
    out.push({ ref: a.sourceRef, kind: kind as LineKind, componentKey, dimensionValue, description: "", quantity, amount, roundedAmount: new Decimal(0), period: a.linePeriod, details: [] });
  }
  return out;
}

/**
 * Numbers of each sequence must be 1..max with none missing and none used twice. A gap is a
 * sequence-wide finding (no invoice holds a missing number); a repeat names the invoices sharing it.
 */
export function checkNumbering(issued: { id: string; number: string; prefix: string; sequence: number }[]): Finding[] {
  const out: Finding[] = [];
  const bySequence = new Map<string, Map<number, string[]>>();
  for (const i of issued) {
    const numbers = bySequence.get(i.prefix) ?? new Map<number, string[]>();
    numbers.set(i.sequence, [...(numbers.get(i.sequence) ?? []), i.id]);
    bySequence.set(i.prefix, numbers);
  }
  for (const [prefix, numbers] of bySequence) {
    const max = Math.max(...numbers.keys());
    const missing: number[] = [];
    for (let n = 1; n <= max; n++) if (!numbers.has(n)) missing.push(n);
    if (missing.length > 0) out.push({ invoiceId: "", number: "", check: "gapless_numbers", ref: prefix, expected: `1..${max} all used`, actual: `missing ${missing.join(", ")}` });
    for (const [n, ids] of numbers) {
      if (ids.length > 1) out.push({ invoiceId: ids.join(","), number: String(n), check: "gapless_numbers", ref: prefix, expected: "used once", actual: `used ${ids.length} times` });
    }
  }
  return out;
}

import { timestampDate } from "@bufbuild/protobuf/wkt";
import { invoicing } from "@tally/contracts";
import { createDimensionalPricer, createPricer, Decimal, minorUnitDigits, roundToMinorUnit, type PriceLine } from "@tally/pricing";
import { dimensionalForShare, planKey, priceBook, priceForShare, type PlanFamily, type PlanSpec } from "./plans";
import { MONTH, type ScenarioCustomer, type UsageEvent } from "./scenario";

/** One line the harness expects, keyed by the ref rating and invoicing give it. */
interface ExpectedLine {
  ref: string;
  kind: "fee" | "usage" | "minimum" | "maximum";
  quantity?: Decimal;
  amount: Decimal;
}

export interface Mismatch {
  customerId: string;
  what: string;
  expected: string;
  actual: string;
}

export interface Recomputation {
  invoicesExpected: number;
  invoicesFound: number;
  linesCompared: number;
  mismatches: Mismatch[];
  /** Sum of expected invoice totals, by currency. */
  expectedByCurrency: Record<string, string>;
}

const SPECS = new Map(priceBook().map((s) => [planKey(s.family, s.currency), s]));

/** The plan segments of November for a customer, from what the harness itself did. */
function segments(c: ScenarioCustomer): { family: PlanFamily; start: Date; end: Date }[] {
  const ch = c.change;
  if (ch?.kind === "upgrade") return [{ family: c.family, start: MONTH.start, end: ch.at }, { family: ch.to!, start: ch.at, end: MONTH.end }];
  if (ch?.kind === "cancel") return [{ family: c.family, start: MONTH.start, end: ch.at }];
  return [{ family: c.family, start: MONTH.start, end: MONTH.end }];
}

function linesOf(ref: string, priced: { lines: PriceLine[] }, quantity: Decimal): ExpectedLine[] {
  const usage = priced.lines.filter((l) => l.kind !== "minimum" && l.kind !== "maximum" && l.kind !== "unpriced");
  const out: ExpectedLine[] = [{ ref, kind: "usage", quantity, amount: usage.reduce((s, l) => s.plus(l.subtotal), new Decimal(0)) }];
  for (const l of priced.lines) if (l.kind === "minimum" || l.kind === "maximum") out.push({ ref: `${ref}/${l.kind}`, kind: l.kind, amount: l.subtotal });
  return out;
}

/** Prices a customer's month from the raw events the harness sent, with @tally/pricing. */
export function expectedLines(c: ScenarioCustomer, events: readonly UsageEvent[]): ExpectedLine[] {
  // Shares are of the NOMINAL period, November's 30 days, also for a subscription canceled
  // mid-month (its billed period ends at the cancel time): fee and minimum are prorated by the
  // milliseconds served, like an upgrade's segments — the rule rating and invoicing's
  // reconciliation follow (apps/rating/README.md, "Partial periods"). Every subscription here
  // starts on November 1 in UTC, so November is each one's nominal period.
  const nominalMs = new Decimal(MONTH.end.getTime() - MONTH.start.getTime());
  const out: ExpectedLine[] = [];
  for (const seg of segments(c)) {
    const spec: PlanSpec = SPECS.get(planKey(seg.family, c.currency))!;
    const share = new Decimal(seg.end.getTime() - seg.start.getTime()).div(nominalMs);
    const base = seg.start.toISOString();
    if (spec.fee) out.push({ ref: `${base}/fee`, kind: "fee", amount: share.eq(1) ? new Decimal(spec.fee) : new Decimal(spec.fee).times(share).toDecimalPlaces(12, Decimal.ROUND_HALF_EVEN) });
    const byModel = new Map<string, Decimal>();
    let total = new Decimal(0);
    for (const e of events) {
      if (e.time < seg.start || e.time >= seg.end) continue;
      byModel.set(e.model, (byModel.get(e.model) ?? new Decimal(0)).plus(e.tokens));
      total = total.plus(e.tokens);
    }
    if (spec.pricing.kind === "single") {
      out.push(...linesOf(`${base}/usage/tokens`, createPricer(priceForShare(spec.pricing.price, share)).total(total), total));
      continue;
    }
    const pricer = createDimensionalPricer(dimensionalForShare(spec.pricing, share));
    const values = [...byModel.keys()].sort();
    const priced = pricer.total(new Map(values.map((v) => [v, byModel.get(v)!])));
    for (const v of values) {
      const prefix = `model=${encodeURIComponent(v)}/`;
      const own = priced.lines.filter((l) => l.ref.startsWith(prefix));
      out.push(...linesOf(`${base}/usage/tokens/${v}`, { lines: own }, byModel.get(v)!));
    }
  }
  return out;
}

const KIND: Record<ExpectedLine["kind"], invoicing.LineKind> = {
  fee: invoicing.LineKind.RECURRING_FEE,
  usage: invoicing.LineKind.USAGE,
  minimum: invoicing.LineKind.MINIMUM_TRUE_UP,
  maximum: invoicing.LineKind.MAXIMUM_ADJUSTMENT,
};

/**
 * Every invoice line against the recomputation, to the minor unit (the precise amounts rounded
 * the way invoices round, half-even at the currency's exponent), usage quantities exactly, and
 * each invoice's total.
 */
export function compareInvoices(customers: readonly ScenarioCustomer[], billed: ReadonlyMap<string, UsageEvent[]>, invoices: readonly invoicing.Invoice[]): Recomputation {
  const byCustomer = new Map<string, invoicing.Invoice[]>();
  for (const inv of invoices) {
    if (inv.period && timestampDate(inv.period.start!).getTime() !== MONTH.start.getTime()) continue; // a later period (December drafts)
    byCustomer.set(inv.customerId, [...(byCustomer.get(inv.customerId) ?? []), inv]);
  }
  const mismatches: Mismatch[] = [];
  const expectedByCurrency: Record<string, Decimal> = {};
  let linesCompared = 0;
  let found = 0;
  for (const c of customers) {
    const mine = byCustomer.get(c.id) ?? [];
    const bad = (what: string, expected: string, actual: string) => mismatches.push({ customerId: c.id, what, expected, actual });
    if (mine.length !== 1) {
      bad("invoices for November", "1", String(mine.length));
      if (mine.length === 0) continue;
    }
    found++;
    const inv = mine[0]!;
    const round = (x: Decimal) => roundToMinorUnit(x, c.currency).toFixed(minorUnitDigits(c.currency));
    const expected = expectedLines(c, billed.get(c.id) ?? []);
    const actual = new Map(inv.lines.map((l) => [l.ref, l]));
    for (const e of expected) {
      linesCompared++;
      const line = actual.get(e.ref);
      actual.delete(e.ref);
      const amount = round(e.amount);
      if (!line) {
        if (!e.amount.isZero()) bad(`line ${e.ref} missing`, amount, "-");
        continue;
      }
      if (line.kind !== KIND[e.kind]) bad(`line ${e.ref} kind`, invoicing.LineKind[KIND[e.kind]], invoicing.LineKind[line.kind]);
      if (round(new Decimal(line.amount)) !== amount) bad(`line ${e.ref} amount`, amount, line.amount);
      if (e.quantity && !new Decimal(line.quantity).eq(e.quantity)) bad(`line ${e.ref} quantity`, e.quantity.toFixed(), line.quantity);
    }
    for (const [ref, line] of actual) if (!new Decimal(line.amount).isZero()) bad(`unexpected line ${ref}`, "-", line.amount);
    const total = roundToMinorUnit(expected.reduce((s, l) => s.plus(l.amount), new Decimal(0)), c.currency);
    if (!new Decimal(inv.total).eq(total)) bad("invoice total", total.toFixed(), inv.total);
    expectedByCurrency[c.currency] = (expectedByCurrency[c.currency] ?? new Decimal(0)).plus(total);
  }
  return {
    invoicesExpected: customers.length,
    invoicesFound: found,
    linesCompared,
    mismatches,
    expectedByCurrency: Object.fromEntries(Object.entries(expectedByCurrency).map(([k, v]) => [k, v.toFixed()])),
  };
}

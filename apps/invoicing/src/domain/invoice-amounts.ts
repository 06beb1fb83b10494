import { Decimal, minorUnitDigits, roundToMinorUnit } from "@tally/pricing";

export interface TaxRate {
  name: string;
  percent: Decimal;
}

export interface TaxLine {
  name: string;
  percent: Decimal;
  taxableAmount: Decimal;
  amount: Decimal;
}

export interface AmountInputs {
  currency: string;
  /** Precise line amounts, in invoice order. */
  lineAmounts: readonly Decimal[];
  /** Precise credits burned for the period (limits' ledger). */
  creditsBurned: Decimal;
  /** Customer balance available (>= 0); applied only at finalization. */
  balanceAvailable: Decimal;
  taxRates: readonly TaxRate[];
  taxExempt: boolean;
}

export interface InvoiceAmounts {
  subtotal: Decimal;
  total: Decimal;
  roundedLines: Decimal[];
  creditsApplied: Decimal;
  taxableAmount: Decimal;
  taxLines: TaxLine[];
  taxTotal: Decimal;
  balanceApplied: Decimal;
  amountDue: Decimal;
}

/**
 * An invoice's money, rounded ONCE per figure (ROUND_HALF_EVEN, the currency's ISO 4217 exponent):
 * total = round(Σ precise lines); printed lines are allocated from the total (largest remainder)
 * so they add up to it; credits never exceed the total; taxes are per rate on what credits leave;
 * the balance pays what remains. Nothing can make amount due negative.
 */
export function invoiceAmounts(i: AmountInputs): InvoiceAmounts {
  const subtotal = i.lineAmounts.reduce((sum, a) => sum.plus(a), new Decimal(0));
  const total = roundToMinorUnit(subtotal, i.currency);
  const roundedLines = allocateLargestRemainder(total, i.lineAmounts, minorUnitDigits(i.currency));
  const creditsApplied = Decimal.max(0, Decimal.min(roundToMinorUnit(i.creditsBurned, i.currency), total));
  const taxableAmount = Decimal.max(0, total.minus(creditsApplied));
  const taxLines = i.taxExempt
    ? []
    : i.taxRates.map((r) => ({ name: r.name, percent: r.percent, taxableAmount, amount: roundToMinorUnit(taxableAmount.times(r.percent).div(100), i.currency) }));
  const taxTotal = taxLines.reduce((sum, t) => sum.plus(t.amount), new Decimal(0));
  const owed = taxableAmount.plus(taxTotal);
  const balanceApplied = Decimal.max(0, Decimal.min(i.balanceAvailable, owed));
  return { subtotal, total, roundedLines, creditsApplied, taxableAmount, taxLines, taxTotal, balanceApplied, amountDue: owed.minus(balanceApplied) };
}

/**
 * Rounds each amount down to the minor unit, then hands the units still missing to reach `total`
 * to the amounts that lost the most (ties: the earlier line). Σ result = total exactly, and each
 * result is its amount floored or ceiled — never more than one unit off.
 */
export function allocateLargestRemainder(total: Decimal, amounts: readonly Decimal[], digits: number): Decimal[] {
  const unit = new Decimal(1).div(new Decimal(10).pow(digits));
  const floored = amounts.map((a) => a.toDecimalPlaces(digits, Decimal.ROUND_FLOOR));
  let missing = total.minus(floored.reduce((sum, f) => sum.plus(f), new Decimal(0))).div(unit).toNumber();
  const order = amounts.map((a, idx) => ({ idx, remainder: a.minus(floored[idx]!) })).sort((x, y) => y.remainder.comparedTo(x.remainder) || x.idx - y.idx);
  const out = [...floored];
  for (const { idx } of order) {
    if (missing <= 0) break;
    out[idx] = out[idx]!.plus(unit);
    missing--;
  }
  return out;
}

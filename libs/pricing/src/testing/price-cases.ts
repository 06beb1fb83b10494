/**
 * The one table-driven harness every pricer spec goes through. A case is a price, a quantity, the
 * expected precise amount and (optionally) the expected lines as [ref, quantity, subtotal]; the
 * arithmetic goes in a comment beside it, like on a pricing page. Besides the listed expectations
 * the harness checks, for every case, the contracts that hold for all prices:
 * - amount(q) = total(q).amount = Σ line subtotals, and each subtotal = quantity × unit + flat;
 * - amount(0) + Σ increments over a split of [0, q] = amount(q), going up and coming back down.
 */
import { Decimal, toWire } from "../decimal";
import { createPricer } from "../create-pricer";
import type { Price, Pricer, Tier } from "../types";

/** Test shorthand: a Decimal from a literal. */
export const d = (value: string | number): Decimal => new Decimal(value);

/** Tier shorthand: tier("100", "0.10") or tier(null, "0.05", "5"). */
export function tier(upTo: string | null, unitAmount: string, flatAmount = "0"): Tier {
  return { upTo: upTo === null ? null : d(upTo), unitAmount: d(unitAmount), flatAmount: d(flatAmount) };
}

export interface PriceCase {
  name: string;
  price: Price;
  quantity: string;
  amount: string;
  /** [ref, quantity, subtotal] per line, in order. */
  lines?: Array<[string, string, string]>;
}

export function checkPricerContracts(pricer: Pricer, quantity: Decimal): void {
  const total = pricer.total(quantity);
  expect(toWire(pricer.amount(quantity))).toBe(toWire(total.amount));
  const sum = total.lines.reduce((acc, line) => acc.plus(line.subtotal), new Decimal(0));
  expect(toWire(sum)).toBe(toWire(total.amount));
  for (const line of total.lines) {
    expect(toWire(line.quantity.times(line.unitAmount).plus(line.flatAmount))).toBe(toWire(line.subtotal));
    expect(line.description.length).toBeGreaterThan(0);
  }
  // Split [0, q] into uneven steps, going up, then come back down to 0.
  const points = [0, 0.13, 0.5, 0.51, 0.9, 1].map((f) => quantity.times(f));
  let running = pricer.amount(points[0] as Decimal);
  for (let i = 1; i < points.length; i++) running = running.plus(pricer.increment(points[i - 1] as Decimal, points[i] as Decimal));
  expect(toWire(running)).toBe(toWire(pricer.amount(quantity)));
  for (let i = points.length - 1; i > 0; i--) running = running.plus(pricer.increment(points[i] as Decimal, points[i - 1] as Decimal));
  expect(toWire(running)).toBe(toWire(pricer.amount(new Decimal(0))));
}

export function describePriceCases(title: string, cases: PriceCase[]): void {
  describe(title, () => {
    it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
      const pricer = createPricer(c.price);
      const q = d(c.quantity);
      const total = pricer.total(q);
      expect(toWire(total.amount)).toBe(c.amount);
      if (c.lines) {
        expect(total.lines.map((l) => [l.ref, toWire(l.quantity), toWire(l.subtotal)])).toEqual(c.lines);
      }
      checkPricerContracts(pricer, q);
    });
  });
}

/**
 * Property-based tests of the invariants every price must keep, over random valid prices and
 * random quantities (including exact tier bounds, tiny and huge values), plus random — mostly
 * invalid — tier tables that must either fail validation or price without throwing.
 */
import DecimalJs from "decimal.js";
import fc from "fast-check";
import { createPricer } from "./create-pricer";
import { Decimal, toWire } from "./decimal";
import { PriceValidationError } from "./errors";
import type { Price, PriceModel, Tier } from "./types";
import { validatePrice } from "./validation";

const RUNS = { numRuns: 300 };
const ZERO = new Decimal(0);

/** A non-negative decimal with up to `intDigits` integer digits and `scale` decimal places. */
const decimal = (intDigits: number, scale: number): fc.Arbitrary<Decimal> =>
  fc
    .tuple(fc.bigInt({ min: 0n, max: 10n ** BigInt(intDigits + scale) - 1n }), fc.integer({ min: 0, max: scale }))
    .map(([mantissa, places]) => new Decimal(`${mantissa}e-${places}`));

const positive = (intDigits: number, scale: number) => decimal(intDigits, scale).filter((x) => x.gt(0));

const unitAmount = fc.oneof(decimal(2, 4), decimal(0, 9), fc.constant(ZERO));
const flatAmount = fc.oneof(fc.constant(ZERO), fc.constant(ZERO), decimal(3, 2));

const tiers: fc.Arbitrary<Tier[]> = fc
  .tuple(
    fc.uniqueArray(positive(5, 3), { maxLength: 5, comparator: (a, b) => a.eq(b) }),
    fc.array(fc.tuple(unitAmount, flatAmount), { minLength: 6, maxLength: 6 }),
  )
  .map(([bounds, amounts]) =>
    [...[...bounds].sort((a, b) => a.cmp(b)), null].map((upTo, i) => ({
      upTo,
      unitAmount: amounts[i]![0],
      flatAmount: amounts[i]![1],
    })),
  );

const model: fc.Arbitrary<PriceModel> = fc.oneof(
  unitAmount.map((u) => ({ kind: "per_unit" as const, unitAmount: u })),
  tiers.map((t) => ({ kind: "graduated" as const, tiers: t })),
  tiers.map((t) => ({ kind: "volume" as const, tiers: t })),
  fc.tuple(positive(3, 3), decimal(3, 2)).map(([size, amount]) => ({ kind: "package" as const, packageSize: size, packageAmount: amount })),
  decimal(3, 2).map((amount) => ({ kind: "flat_fee" as const, amount })),
  decimal(1, 3).map((rate) => ({ kind: "percentage" as const, rate })),
);

/** Optional included units and minimum/maximum (minimum ≤ maximum) around a model. */
const withSteps = (models: fc.Arbitrary<PriceModel>): fc.Arbitrary<Price> =>
  fc
    .record({
      model: models,
      includedUnits: fc.option(decimal(4, 2), { nil: undefined }),
      commitment: fc.option(fc.tuple(fc.option(decimal(4, 2), { nil: undefined }), fc.option(decimal(5, 2), { nil: undefined })), { nil: undefined }),
    })
    .map(({ model, includedUnits, commitment }) => {
      const price: Price = { model };
      if (includedUnits !== undefined) price.includedUnits = includedUnits;
      const [min, max] = commitment ?? [undefined, undefined];
      if (min !== undefined) price.minimum = min;
      if (max !== undefined) price.maximum = min !== undefined && max.lt(min) ? min : max;
      return price;
    });

const prices = withSteps(model);

/** Raw-scale points where something happens: tier bounds and the end of the included units. */
function interestingPoints(price: Price): Decimal[] {
  const offset = price.includedUnits ?? ZERO;
  const bounds = "tiers" in price.model ? price.model.tiers.flatMap((t) => (t.upTo === null ? [] : [t.upTo])) : [];
  return [ZERO, ...bounds].map((b) => b.plus(offset));
}

/** Quantities biased to land on, just below and just above the price's thresholds. */
const quantityFor = (price: Price): fc.Arbitrary<Decimal> => {
  const points = interestingPoints(price);
  return fc.oneof(
    decimal(6, 3),
    decimal(13, 12), // up to ~1e13, down to 1e-12
    fc.tuple(fc.constantFrom(...points), fc.constantFrom("0", "0.000000000001", "-0.000000000001", "1", "-1")).map(([p, delta]) => {
      const q = p.plus(delta);
      return q.isNeg() ? ZERO : q;
    }),
  );
};

const priceWithPath = prices.chain((price) =>
  fc.tuple(fc.constant(price), fc.array(quantityFor(price), { minLength: 1, maxLength: 8 })),
);

describe("invariants for every model", () => {
  it("amount(0) + Σ increments along any path (up and down) = amount(end)", () => {
    fc.assert(
      fc.property(priceWithPath, ([price, path]) => {
        const pricer = createPricer(price);
        let previous = ZERO;
        let running = pricer.amount(ZERO);
        for (const q of path) {
          running = running.plus(pricer.increment(previous, q));
          previous = q;
        }
        return running.eq(pricer.amount(previous));
      }),
      RUNS,
    );
  });

  it("summing increments over a sorted split of [0, q] gives total(q)", () => {
    fc.assert(
      fc.property(priceWithPath, ([price, path]) => {
        const pricer = createPricer(price);
        const split = [...path].sort((a, b) => a.cmp(b));
        const q = split[split.length - 1]!;
        let previous = ZERO;
        let running = pricer.total(ZERO).amount;
        for (const point of split) {
          running = running.plus(pricer.increment(previous, point));
          previous = point;
        }
        return running.eq(pricer.total(q).amount);
      }),
      RUNS,
    );
  });

  it("lines explain the total: they sum to it and each is quantity × unit + flat", () => {
    fc.assert(
      fc.property(priceWithPath, ([price, [q]]) => {
        const pricer = createPricer(price);
        const total = pricer.total(q!);
        const sum = total.lines.reduce((acc, l) => acc.plus(l.subtotal), ZERO);
        expect(toWire(sum)).toBe(toWire(total.amount));
        expect(toWire(pricer.amount(q!))).toBe(toWire(total.amount));
        for (const line of total.lines) expect(line.quantity.times(line.unitAmount).plus(line.flatAmount).eq(line.subtotal)).toBe(true);
        expect(new Set(total.lines.map((l) => l.ref)).size).toBe(total.lines.length);
      }),
      RUNS,
    );
  });

  it("the position brackets the quantity and counts the units to the next threshold", () => {
    fc.assert(
      fc.property(priceWithPath, ([price, [q]]) => {
        const p = createPricer(price).position(q!);
        expect(q!.gt(p.lowerBound) || (q!.isZero() && p.lowerBound.isZero())).toBe(true);
        if (p.upperBound === null) {
          expect(p.nextThreshold).toBeNull();
          expect(p.unitsToNextThreshold).toBeNull();
        } else {
          expect(q!.lte(p.upperBound)).toBe(true);
          expect(p.nextThreshold!.minus(q!).eq(p.unitsToNextThreshold!)).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it("crossings step tier by tier from position(from) to position(to), and mirror when reversed", () => {
    fc.assert(
      fc.property(
        prices.chain((price) => fc.tuple(fc.constant(price), quantityFor(price), quantityFor(price))),
        ([price, a, b]) => {
          const pricer = createPricer(price);
          const from = pricer.position(a).tierIndex;
          const to = pricer.position(b).tierIndex;
          const crossings = pricer.crossings(a, b);
          expect(crossings).toHaveLength(Math.abs(to - from));
          let tierAt = from;
          let last: Decimal | undefined;
          for (const c of crossings) {
            expect(c.fromTier).toBe(tierAt);
            expect(c.toTier).toBe(c.direction === "up" ? tierAt + 1 : tierAt - 1);
            expect(c.direction).toBe(b.gt(a) ? "up" : "down");
            // the threshold lies between the two quantities, and thresholds are passed in order
            expect(c.threshold.gte(DecimalJs.min(a, b)) && c.threshold.lt(DecimalJs.max(a, b))).toBe(true);
            if (last !== undefined) expect(c.direction === "up" ? c.threshold.gt(last) : c.threshold.lt(last)).toBe(true);
            last = c.threshold;
            tierAt = c.toTier;
          }
          const back = pricer.crossings(b, a);
          expect(back.map((c) => [c.toTier, c.fromTier, toWire(c.threshold)])).toEqual(
            [...crossings].reverse().map((c) => [c.fromTier, c.toTier, toWire(c.threshold)]),
          );
        },
      ),
      RUNS,
    );
  });
});

const graduatedPrices = withSteps(tiers.map((t) => ({ kind: "graduated" as const, tiers: t })));
const volumeTiers = tiers.chain((t) => fc.tuple(fc.constant(t), quantityFor({ model: { kind: "volume", tiers: t } })));

describe("graduated", () => {
  it("never decreases: q1 ≤ q2 ⇒ total(q1) ≤ total(q2), and increments up are ≥ 0", () => {
    fc.assert(
      fc.property(
        graduatedPrices.chain((price) => fc.tuple(fc.constant(price), quantityFor(price), quantityFor(price))),
        ([price, a, b]) => {
          const pricer = createPricer(price);
          const [lo, hi] = a.lte(b) ? [a, b] : [b, a];
          return pricer.amount(lo).lte(pricer.amount(hi)) && pricer.increment(lo, hi).gte(0);
        },
      ),
      RUNS,
    );
  });

  it("matches a naive tier-by-tier reference", () => {
    fc.assert(
      fc.property(volumeTiers, ([t, q]) => {
        const pricer = createPricer({ model: { kind: "graduated", tiers: t } });
        let lower = ZERO;
        let expected = ZERO;
        for (const tier of t) {
          if (q.gt(lower)) {
            const top = tier.upTo === null || q.lt(tier.upTo) ? q : tier.upTo;
            expected = expected.plus(top.minus(lower).times(tier.unitAmount)).plus(tier.flatAmount);
          }
          if (tier.upTo !== null) lower = tier.upTo;
        }
        return pricer.amount(q).eq(expected);
      }),
      RUNS,
    );
  });
});

describe("volume", () => {
  it("the total is exactly one tier's price for all units, the tier the total falls in", () => {
    fc.assert(
      fc.property(volumeTiers, ([t, q]) => {
        const pricer = createPricer({ model: { kind: "volume", tiers: t } });
        const total = pricer.total(q);
        expect(total.lines).toHaveLength(1);
        if (q.isZero()) return total.amount.isZero();
        const index = t.findIndex((tier) => tier.upTo === null || q.lte(tier.upTo));
        const tier = t[index]!;
        expect(total.lines[0]?.tierIndex).toBe(index);
        return total.amount.eq(q.times(tier.unitAmount).plus(tier.flatAmount));
      }),
      RUNS,
    );
  });
});

describe("package", () => {
  it("charges ceil(q / size) packages", () => {
    fc.assert(
      fc.property(positive(3, 3), decimal(3, 2), decimal(8, 4), (size, amount, q) => {
        const pricer = createPricer({ model: { kind: "package", packageSize: size, packageAmount: amount } });
        return pricer.amount(q).eq(q.div(size).ceil().times(amount));
      }),
      RUNS,
    );
  });
});

describe("validation is the only place a price can fail", () => {
  // Mostly-invalid raw tiers: any bounds in any order, nulls anywhere, negatives, too many
  // places, NaN, missing fields.
  const junkDecimal = fc.oneof(
    decimal(4, 2),
    decimal(4, 2).map((x) => x.neg()),
    decimal(2, 14),
    fc.constantFrom(new Decimal(NaN), new Decimal(Infinity), new Decimal("1e30")),
    fc.constantFrom(undefined, null, 5, "1"),
  );
  const junkTier = fc.record({
    upTo: fc.oneof(fc.constant(null), decimal(4, 2), junkDecimal),
    unitAmount: fc.oneof(decimal(2, 4), junkDecimal),
    flatAmount: fc.oneof(fc.constant(ZERO), junkDecimal),
  });
  const junkPrice = fc
    .tuple(fc.constantFrom("graduated", "volume"), fc.array(junkTier, { maxLength: 6 }), fc.option(junkDecimal, { nil: undefined }))
    .map(([kind, t, included]) => ({ model: { kind, tiers: t }, ...(included !== undefined && { includedUnits: included }) }) as unknown as Price);
  const anyQuantity = fc.oneof(
    decimal(6, 3),
    decimal(4, 2).map((x) => x.neg()),
    fc.constantFrom(new Decimal(NaN), new Decimal(Infinity), new DecimalJs("12.5")),
  );

  it("random tier tables either fail validation or price every quantity without throwing", () => {
    let valid = 0;
    fc.assert(
      fc.property(junkPrice, fc.array(anyQuantity, { minLength: 2, maxLength: 4 }), (price, qs) => {
        const issues = validatePrice(price);
        if (issues.length > 0) {
          expect(() => createPricer(price)).toThrow(PriceValidationError);
          for (const issue of issues) expect(issue.message.length).toBeGreaterThan(0);
          return;
        }
        valid++;
        const pricer = createPricer(price);
        for (const q of qs) {
          pricer.total(q);
          pricer.amount(q);
          pricer.position(q);
          pricer.increment(qs[0]!, q);
          pricer.crossings(qs[0]!, q);
        }
      }),
      { numRuns: 500 },
    );
    expect(valid).toBeGreaterThan(0);
  });
});

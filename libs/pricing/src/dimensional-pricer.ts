import { ComposedPricer, composeModelPricer } from "./create-pricer";
import { ZERO, type Decimal } from "./decimal";
import { PriceValidationError } from "./errors";
import type { LineDraft } from "./model-pricer";
import { UnpricedPricer } from "./models/unpriced";
import { own } from "./quantity";
import { describeLine } from "./describe-line";
import { applyCommitment, clampAmount } from "./steps/commitment";
import type { DimensionalPrice, DimensionalPricedAmount, DimensionalPricer, PriceLine, Pricer } from "./types";
import { validateDimensionalPrice } from "./validation";

/**
 * A price per value of one dimension (e.g. `model=gpt-4`), with a default for values not listed,
 * and an optional minimum/maximum over the sum of all values. Validates like createPricer and
 * never throws afterwards.
 *
 * Lines are each value's own lines with refs prefixed "<dimension>=<value>/" (both parts
 * URI-encoded, so a value such as "meta-llama/Llama-3" stays one segment:
 * "model=meta-llama%2FLlama-3/tier:0") and descriptions prefixed "<dimension>=<value>: ".
 * Values are listed in code-unit order of their names, so invoices are stable whatever order
 * the quantities came in. The dimensional minimum/maximum lines come last, unprefixed.
 */
export function createDimensionalPricer(price: DimensionalPrice): DimensionalPricer {
  const issues = validateDimensionalPrice(price);
  if (issues.length > 0) throw new PriceValidationError(issues);
  return new ComposedDimensionalPricer(price);
}

const UNPRICED: Pricer = new ComposedPricer(new UnpricedPricer());

class ComposedDimensionalPricer implements DimensionalPricer {
  readonly dimension: string;
  private readonly pricers = new Map<string, Pricer>();
  private readonly defaultPricer: Pricer | undefined;
  private readonly minimum: Decimal | undefined;
  private readonly maximum: Decimal | undefined;

  constructor(price: DimensionalPrice) {
    this.dimension = price.dimension;
    for (const [value, valuePrice] of Object.entries(price.prices)) {
      this.pricers.set(value, new ComposedPricer(composeModelPricer(valuePrice)));
    }
    this.defaultPricer = price.defaultPrice === undefined ? undefined : new ComposedPricer(composeModelPricer(price.defaultPrice));
    this.minimum = price.minimum === undefined ? undefined : own(price.minimum);
    this.maximum = price.maximum === undefined ? undefined : own(price.maximum);
  }

  hasPriceFor(value: string): boolean {
    return this.pricers.has(value) || this.defaultPricer !== undefined;
  }

  pricerFor(value: string): Pricer {
    return this.pricers.get(value) ?? this.defaultPricer ?? UNPRICED;
  }

  amount(quantitiesByValue: ReadonlyMap<string, Decimal>): Decimal {
    let sum = ZERO;
    for (const [value, quantity] of quantitiesByValue) sum = sum.plus(this.pricerFor(value).amount(quantity));
    return clampAmount(sum, this.minimum, this.maximum);
  }

  total(quantitiesByValue: ReadonlyMap<string, Decimal>): DimensionalPricedAmount {
    const values = [...quantitiesByValue.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const lines: PriceLine[] = [];
    const unpriced: string[] = [];
    let sum = ZERO;
    for (const value of values) {
      if (!this.hasPriceFor(value)) unpriced.push(value);
      const result = this.pricerFor(value).total(quantitiesByValue.get(value) as Decimal);
      sum = sum.plus(result.amount);
      const refPrefix = `${encodeURIComponent(this.dimension)}=${encodeURIComponent(value)}/`;
      const textPrefix = `${this.dimension}=${value}: `;
      for (const line of result.lines) {
        lines.push({ ...line, ref: refPrefix + line.ref, description: textPrefix + line.description });
      }
    }
    const adjusted = applyCommitment<{ amount: Decimal; lines: LineDraft[] }>({ amount: sum, lines }, this.minimum, this.maximum);
    return {
      amount: adjusted.amount,
      lines: adjusted.lines.map((line) => ({ ...line, description: describeLine(line) })),
      unpriced,
    };
  }
}

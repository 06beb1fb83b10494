import { describeLines } from "./describe-line";
import { PriceValidationError } from "./errors";
import type { ModelPricer } from "./model-pricer";
import { FlatFeePricer } from "./models/flat-fee";
import { GraduatedPricer } from "./models/graduated";
import { PackagePricer } from "./models/package";
import { PercentagePricer } from "./models/percentage";
import { PerUnitPricer } from "./models/per-unit";
import { VolumePricer } from "./models/volume";
import { own, toQuantity } from "./quantity";
import { CommitmentStep } from "./steps/commitment";
import { IncludedUnitsStep } from "./steps/included-units";
import type { Decimal } from "./decimal";
import type { PricedAmount, Price, PriceModel, Pricer, TierCrossing, TierPosition, Tier } from "./types";
import { validatePrice } from "./validation";

/**
 * Builds the pricer of one price component: validates (throwing PriceValidationError with every
 * issue), copies the price, then composes model → included units → minimum/maximum.
 * The returned Pricer never throws.
 */
export function createPricer(price: Price): Pricer {
  const issues = validatePrice(price);
  if (issues.length > 0) throw new PriceValidationError(issues);
  return new ComposedPricer(composeModelPricer(price));
}

/** Internal: the pipeline for an already validated price. */
export function composeModelPricer(price: Price): ModelPricer {
  let pricer = createModelPricer(price.model);
  if (price.includedUnits !== undefined && !price.includedUnits.isZero()) {
    pricer = new IncludedUnitsStep(pricer, own(price.includedUnits));
  }
  if (price.minimum !== undefined || price.maximum !== undefined) {
    pricer = new CommitmentStep(
      pricer,
      price.minimum === undefined ? undefined : own(price.minimum),
      price.maximum === undefined ? undefined : own(price.maximum),
    );
  }
  return pricer;
}

/** The factory: one model class per kind, chosen by an exhaustive switch. */
function createModelPricer(model: PriceModel): ModelPricer {
  switch (model.kind) {
    case "per_unit":
      return new PerUnitPricer(own(model.unitAmount));
    case "graduated":
      return new GraduatedPricer(ownTiers(model.tiers));
    case "volume":
      return new VolumePricer(ownTiers(model.tiers));
    case "package":
      return new PackagePricer(own(model.packageSize), own(model.packageAmount));
    case "flat_fee":
      return new FlatFeePricer(own(model.amount));
    case "percentage":
      return new PercentagePricer(own(model.rate));
    default:
      return unreachable(model);
  }
}

function ownTiers(tiers: readonly Tier[]): Tier[] {
  return tiers.map((t) => ({
    upTo: t.upTo === null ? null : own(t.upTo),
    unitAmount: own(t.unitAmount),
    flatAmount: own(t.flatAmount),
  }));
}

function unreachable(model: never): never {
  // Validation rejects unknown kinds first; this only guards the exhaustive switch.
  throw new Error(`unknown price model ${JSON.stringify((model as { kind?: unknown }).kind)}`);
}

/** The public face of a pipeline: sanitises quantities and describes lines. */
export class ComposedPricer implements Pricer {
  constructor(private readonly pricer: ModelPricer) {}

  total(quantity: Decimal): PricedAmount {
    const { amount, lines } = this.pricer.total(toQuantity(quantity));
    return { amount, lines: describeLines(lines) };
  }

  amount(quantity: Decimal): Decimal {
    return this.pricer.amount(toQuantity(quantity));
  }

  position(quantity: Decimal): TierPosition {
    return this.pricer.position(toQuantity(quantity));
  }

  increment(from: Decimal, to: Decimal): Decimal {
    return this.pricer.increment(toQuantity(from), toQuantity(to));
  }

  crossings(from: Decimal, to: Decimal): TierCrossing[] {
    return this.pricer.crossings(toQuantity(from), toQuantity(to));
  }
}

import { checkDecimal, MAX_INTEGER_DIGITS, MAX_SCALE, type Decimal, type DecimalProblem } from "./decimal";
import { formatDecimal } from "./describe-line";
import type { PriceValidationCode, PriceValidationIssue } from "./errors";
import type { DimensionalPrice, Price, PriceModel, Tier } from "./types";

/**
 * Validation happens once, at plan creation, and is the only place a price can be rejected:
 * a price with no issues prices every quantity without throwing. It collects every issue (not
 * just the first), each with a path from the price's root and a message naming the tier
 * ("Tier 3", counted from 1 as on a pricing page, i.e. tiers[2]) and the problem.
 *
 * Written defensively: prices arrive from proto/JSON mapping, so fields may be missing or of the
 * wrong type at run time whatever the TypeScript types say.
 */
export function validatePrice(price: Price): PriceValidationIssue[] {
  const issues: PriceValidationIssue[] = [];
  checkPrice(price, "", issues);
  return issues;
}

export function validateDimensionalPrice(price: DimensionalPrice): PriceValidationIssue[] {
  const issues: PriceValidationIssue[] = [];
  if (!isObject(price)) {
    add(issues, "", "no_prices", "a dimensional price must be an object");
    return issues;
  }
  if (typeof price.dimension !== "string" || price.dimension === "") {
    add(issues, "dimension", "empty_dimension", "the dimension name (e.g. \"model\") must be a non-empty string");
  }
  const values = isObject(price.prices) ? Object.keys(price.prices) : [];
  for (const value of values) {
    const path = `prices[${JSON.stringify(value)}]`;
    if (value === "") add(issues, path, "empty_dimension_value", "a dimension value must be a non-empty string");
    checkPrice((price.prices as Record<string, Price>)[value] as Price, `${path}.`, issues);
  }
  if (price.defaultPrice !== undefined) checkPrice(price.defaultPrice, "defaultPrice.", issues);
  if (values.length === 0 && price.defaultPrice === undefined) {
    add(issues, "prices", "no_prices", "a dimensional price needs at least one value's price or a defaultPrice");
  }
  checkCommitment(price.minimum, price.maximum, "", issues);
  return issues;
}

function checkPrice(price: Price, prefix: string, issues: PriceValidationIssue[]): void {
  if (!isObject(price)) {
    add(issues, `${prefix}model`, "unknown_model", "a price must be an object with a model");
    return;
  }
  checkModel(price.model, `${prefix}model`, issues);
  if (price.includedUnits !== undefined) {
    checkValue(price.includedUnits, `${prefix}includedUnits`, "includedUnits", "negative_quantity", issues);
  }
  checkCommitment(price.minimum, price.maximum, prefix, issues);
}

function checkModel(model: PriceModel, path: string, issues: PriceValidationIssue[]): void {
  const kind = isObject(model) ? (model as { kind?: unknown }).kind : undefined;
  switch (kind as PriceModel["kind"]) {
    case "per_unit": {
      const m = model as Extract<PriceModel, { kind: "per_unit" }>;
      checkValue(m.unitAmount, `${path}.unitAmount`, "unitAmount", "negative_amount", issues);
      return;
    }
    case "graduated":
    case "volume":
      checkTiers((model as { tiers: Tier[] }).tiers, `${path}.tiers`, issues);
      return;
    case "package": {
      const m = model as Extract<PriceModel, { kind: "package" }>;
      if (checkValue(m.packageSize, `${path}.packageSize`, "packageSize", "non_positive_package_size", issues) && m.packageSize.isZero()) {
        add(issues, `${path}.packageSize`, "non_positive_package_size", "packageSize must be greater than 0");
      }
      checkValue(m.packageAmount, `${path}.packageAmount`, "packageAmount", "negative_amount", issues);
      return;
    }
    case "flat_fee": {
      const m = model as Extract<PriceModel, { kind: "flat_fee" }>;
      checkValue(m.amount, `${path}.amount`, "amount", "negative_amount", issues);
      return;
    }
    case "percentage": {
      const m = model as Extract<PriceModel, { kind: "percentage" }>;
      checkValue(m.rate, `${path}.rate`, "rate", "negative_amount", issues);
      return;
    }
    default:
      add(
        issues,
        `${path}.kind`,
        "unknown_model",
        `unknown price model ${JSON.stringify(kind)}; expected per_unit, graduated, volume, package, flat_fee or percentage`,
      );
  }
}

function checkTiers(tiers: Tier[], path: string, issues: PriceValidationIssue[]): void {
  if (!Array.isArray(tiers) || tiers.length === 0) {
    add(issues, path, "empty_tiers", "a tiered price needs at least one tier (the last one open-ended, upTo: null)");
    return;
  }
  const last = tiers.length - 1;
  let previous: { bound: Decimal; name: string } | undefined;
  tiers.forEach((tier, i) => {
    const name = `Tier ${i + 1} (tiers[${i}])`;
    const at = `${path}[${i}]`;
    const t: Partial<Tier> = isObject(tier) ? tier : {};
    if (t.upTo === null) {
      if (i !== last) {
        add(issues, `${at}.upTo`, "open_tier_not_last", `${name} is open-ended (upTo: null) but is not the last tier; only the last tier may be open-ended`);
      }
    } else {
      if (i === last) {
        add(
          issues,
          `${at}.upTo`,
          "missing_open_tier",
          `${name} is the last tier but has upTo ${show(t.upTo)}; the last tier must be open-ended (upTo: null) so every quantity has a price`,
        );
      }
      if (checkValue(t.upTo, `${at}.upTo`, `${name} upTo`, "non_positive_bound", issues)) {
        const bound = t.upTo as Decimal;
        if (bound.lte(0)) {
          add(issues, `${at}.upTo`, "non_positive_bound", `${name} has upTo ${show(bound)}; bounds must be greater than 0`);
        } else if (previous !== undefined && bound.eq(previous.bound)) {
          add(
            issues,
            `${at}.upTo`,
            "duplicate_bound",
            `${name} has upTo ${show(bound)}, the same as ${previous.name}; each tier's upTo must be greater than the previous one`,
          );
        } else if (previous !== undefined && bound.lt(previous.bound)) {
          add(
            issues,
            `${at}.upTo`,
            "unordered_bounds",
            `${name} has upTo ${show(bound)}, below ${previous.name}'s ${show(previous.bound)}; tiers must be ordered by increasing upTo`,
          );
        }
        if (previous === undefined || bound.gt(previous.bound)) previous = { bound, name };
      }
    }
    checkValue(t.unitAmount, `${at}.unitAmount`, `${name} unitAmount`, "negative_amount", issues);
    checkValue(t.flatAmount, `${at}.flatAmount`, `${name} flatAmount`, "negative_amount", issues);
  });
}

function checkCommitment(
  minimum: Decimal | undefined,
  maximum: Decimal | undefined,
  prefix: string,
  issues: PriceValidationIssue[],
): void {
  const minOk = minimum === undefined || checkValue(minimum, `${prefix}minimum`, "minimum", "negative_amount", issues);
  const maxOk = maximum === undefined || checkValue(maximum, `${prefix}maximum`, "maximum", "negative_amount", issues);
  if (minOk && maxOk && minimum !== undefined && maximum !== undefined && minimum.gt(maximum)) {
    add(
      issues,
      `${prefix}maximum`,
      "minimum_exceeds_maximum",
      `maximum ${formatDecimal(maximum)} is below minimum ${formatDecimal(minimum)}`,
    );
  }
}

/** Checks one decimal field; returns true if it is usable. */
function checkValue(
  value: unknown,
  path: string,
  label: string,
  /** The code for a negative value: "negative_amount", "negative_quantity", "non_positive_bound"… */
  negativeCode: PriceValidationCode,
  issues: PriceValidationIssue[],
): boolean {
  const problem: DecimalProblem | null = checkDecimal(value, { nonNegative: true });
  if (problem === null) return true;
  const shown = show(value);
  switch (problem) {
    case "not_a_decimal":
      add(issues, path, "not_a_decimal", `${label} must be a finite Decimal, got ${shown}`);
      break;
    case "negative":
      add(
        issues,
        path,
        negativeCode,
        `${label} is ${shown}; it must not be negative`,
      );
      break;
    case "too_many_decimal_places":
      add(issues, path, "too_many_decimal_places", `${label} ${shown} has more than ${MAX_SCALE} decimal places`);
      break;
    case "too_many_digits":
      add(issues, path, "too_many_digits", `${label} ${shown} has more than ${MAX_INTEGER_DIGITS} integer digits`);
      break;
  }
  return false;
}

/** A value as written in messages; never throws, whatever was passed. */
function show(value: unknown): string {
  if (checkDecimal(value) !== "not_a_decimal") return formatDecimal(value as Decimal);
  if (typeof value === "string") return JSON.stringify(value);
  if (value === undefined) return "nothing";
  try {
    return String(value);
  } catch {
    return typeof value;
  }
}

function add(issues: PriceValidationIssue[], path: string, code: PriceValidationCode, message: string): void {
  issues.push({ path, code, message });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

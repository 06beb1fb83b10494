import { Violations } from "@tally/platform";
import { decimalField } from "./decimal-field";
import { RULES } from "./rules";
import type { AlertThreshold, LimitKind, LimitMeasure, LimitScope, ValidLimit } from "./types";

/** A limit as received: raw strings, enums already mapped (undefined when unset). */
export interface LimitInput {
  id: string;
  scope: LimitScope | undefined;
  meterKey: string;
  kind: LimitKind | undefined;
  measure: LimitMeasure | undefined;
  value: string;
  currency: string;
  alerts: ({ percent: string } | { absolute: string } | undefined)[];
}

/** What validation needs to know about the world, looked up beforehand by the service. */
export interface LimitFacts {
  /** The scope's currency: the plan's, or the customer's plan's; null when the scope is unknown. */
  scopeCurrency: string | null;
  /** Whether some published plan prices the meter. */
  meterKnown: boolean;
}

export type { ValidLimit };

/**
 * Validates a SetLimit input, collecting every problem under `path`
 * ("limit.value", "limit.alerts[2].percent"…), and throws them all at once.
 */
export function validateLimit(input: LimitInput, facts: LimitFacts, path = "limit"): ValidLimit {
  const v = new Violations();
  if (!input.scope) v.add(`${path}.scope`, "exactly one of plan_key or customer_id is required", "required");
  else if ("planKey" in input.scope) {
    if (input.scope.planKey === "") v.add(`${path}.plan_key`, "is required", "required");
    else if (facts.scopeCurrency === null) v.add(`${path}.plan_key`, `unknown plan ${JSON.stringify(input.scope.planKey)}`, "unknown_reference");
  } else if (input.scope.customerId === "") v.add(`${path}.customer_id`, "is required", "required");
  else if (facts.scopeCurrency === null) {
    v.add(`${path}.customer_id`, `unknown customer ${JSON.stringify(input.scope.customerId)} (no subscription seen)`, "unknown_reference");
  }
  if (input.kind === undefined) v.add(`${path}.kind`, "is required (HARD_CAP or SOFT_LIMIT)", "required");
  if (input.measure === undefined) v.add(`${path}.measure`, "is required (UNITS or SPEND)", "required");
  if (input.meterKey === "" && input.measure === "units") v.add(`${path}.meter_key`, "is required for a UNITS limit", "required");
  if (input.meterKey !== "" && !facts.meterKnown) {
    v.add(`${path}.meter_key`, `unknown meter ${JSON.stringify(input.meterKey)} (no published plan prices it)`, "unknown_reference");
  }
  const value = decimalField(v, input.value, `${path}.value`, { positive: true });
  if (input.measure === "units" && input.currency !== "") v.add(`${path}.currency`, "must be empty for a UNITS limit", "not_allowed");
  if (input.measure === "spend") {
    if (input.currency === "") v.add(`${path}.currency`, "is required for a SPEND limit", "required");
    else if (facts.scopeCurrency && input.currency !== facts.scopeCurrency) {
      v.add(`${path}.currency`, `${JSON.stringify(input.currency)} differs from the plan currency ${facts.scopeCurrency}`, "not_allowed");
    }
  }
  if (input.alerts.length > RULES.maxAlertsPerLimit) v.add(`${path}.alerts`, `at most ${RULES.maxAlertsPerLimit} thresholds`, "too_many");
  const alerts: AlertThreshold[] = [];
  input.alerts.forEach((a, i) => {
    if (!a) {
      v.add(`${path}.alerts[${i}]`, "exactly one of percent or absolute is required", "required");
    } else if ("percent" in a) {
      const p = decimalField(v, a.percent, `${path}.alerts[${i}].percent`, { positive: true });
      if (p) alerts.push({ percent: p });
    } else {
      const abs = decimalField(v, a.absolute, `${path}.alerts[${i}].absolute`, { positive: true });
      if (abs) alerts.push({ absolute: abs });
    }
  });
  v.throwIfAny();
  return {
    scope: input.scope!,
    meterKey: input.meterKey,
    kind: input.kind!,
    measure: input.measure!,
    value: value!,
    currency: input.currency,
    alerts,
  };
}

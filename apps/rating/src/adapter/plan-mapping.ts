import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { rating } from "@tally/contracts";
import { componentPricingFromProto } from "@tally/plan-pricing";
import type { BillingInterval } from "../domain/periods";
import type { PlanDraft } from "../domain/plan-draft";
import type { FeeTiming } from "../domain/rate-plan";
import type { PlanRow } from "./plan-store";
import { ts } from "./proto-mapping";

/**
 * A `tally.rating.v1.Plan` ↔ rating's plan types, in one place: the rpc layer reads requests with
 * it, the catalog reloads stored versions with it, and GetPlan/plan.published write it back.
 * Prices are read by @tally/plan-pricing (the one mapping shared with limits and invoicing).
 */
export function planDraftFromProto(plan: rating.Plan): PlanDraft {
  return {
    key: plan.key,
    name: plan.name,
    currency: plan.currency,
    interval: INTERVALS[plan.billingInterval],
    recurringFee: plan.recurringFee && { amount: plan.recurringFee.amount, timing: TIMINGS[plan.recurringFee.timing] },
    components: plan.components.map((c) => ({
      key: c.key,
      meterKey: c.meterKey,
      displayName: c.displayName,
      readPricing: (at, meter, v) => componentPricingFromProto(c, at, meter, v),
    })),
    written: toBinary(rating.PlanSchema, plan),
  };
}

/** A stored version's draft, to rebuild its RatePlan. */
export function storedPlanDraft(row: PlanRow): PlanDraft {
  return planDraftFromProto(fromBinary(rating.PlanSchema, row.definition));
}

/** What a version stores: the plan as written, with its version and create time. */
export function storedDefinition(written: Uint8Array, version: number, createTime: Date): Uint8Array {
  return toBinary(rating.PlanSchema, create(rating.PlanSchema, { ...fromBinary(rating.PlanSchema, written), version, createTime: ts(createTime) }));
}

/** A stored version as the contract shows it (GetPlan, ListPlans, plan.published). */
export function planProto(row: PlanRow): rating.Plan {
  return fromBinary(rating.PlanSchema, row.definition);
}

const INTERVALS: Partial<Record<rating.BillingInterval, BillingInterval>> = {
  [rating.BillingInterval.DAY]: "day",
  [rating.BillingInterval.MONTH]: "month",
  [rating.BillingInterval.YEAR]: "year",
};

const TIMINGS: Partial<Record<rating.FeeTiming, FeeTiming>> = {
  [rating.FeeTiming.IN_ADVANCE]: "in_advance",
  [rating.FeeTiming.IN_ARREARS]: "in_arrears",
};

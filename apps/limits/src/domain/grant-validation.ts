import { checkTimeInput, Violations } from "@tally/platform";
import type { Decimal } from "@tally/pricing";
import { decimalField } from "./decimal-field";
import { RULES } from "./rules";
import type { ValidGrant } from "./types";

export type { ValidGrant };

/** A GrantCredits request as received. */
export interface GrantInput {
  customerId: string;
  /** undefined when amount is unset. */
  amount: { currency: string; amount: string } | undefined;
  credits: string;
  creditRate: string;
  priority: number;
  effectiveTime: Date | undefined;
  expireTime: Date | undefined;
  idempotencyKey: string;
  description: string;
}

/**
 * Validates a grant, collecting every problem. `customerCurrency` is the
 * customer's plan currency, null when the customer never had a subscription.
 * amount may be left empty when credits × credit_rate gives it.
 */
export function validateGrant(input: GrantInput, customerCurrency: string | null, now: Date): ValidGrant {
  const v = new Violations();
  if (input.customerId === "") v.add("customer_id", "is required", "required");
  else if (customerCurrency === null) v.add("customer_id", `unknown customer ${JSON.stringify(input.customerId)} (no subscription seen)`, "unknown_reference");
  if (!input.amount) v.add("amount", "is required", "required");
  else if (input.amount.currency === "") v.add("amount.currency", "is required", "required");
  else if (customerCurrency !== null && input.amount.currency !== customerCurrency) {
    v.add("amount.currency", `${JSON.stringify(input.amount.currency)} differs from the customer's plan currency ${customerCurrency}`, "not_allowed");
  }
  const credits = decimalField(v, input.credits, "credits", { positive: true, optional: true });
  const rate = decimalField(v, input.creditRate, "credit_rate", { positive: true, optional: true });
  if (input.credits !== "" && input.creditRate === "") v.add("credit_rate", "is required with credits", "required");
  if (input.creditRate !== "" && input.credits === "") v.add("credits", "is required with credit_rate", "required");
  let amount: Decimal | undefined;
  if (input.amount && input.amount.amount !== "") {
    amount = decimalField(v, input.amount.amount, "amount.amount", { positive: true });
    if (amount && credits && rate && !credits.mul(rate).eq(amount)) {
      v.add("amount.amount", `${input.amount.amount} is not credits × credit_rate = ${credits.mul(rate).toFixed()}`, "invalid_value");
    }
  } else if (credits && rate) {
    amount = credits.mul(rate);
    if (amount.decimalPlaces() > 12) v.add("credit_rate", "credits × credit_rate has more than 12 decimal places", "invalid_value");
  } else if (input.amount && input.credits === "") {
    v.add("amount.amount", "is required (or give credits and credit_rate)", "required");
  }
  if (!Number.isInteger(input.priority) || input.priority < 0) v.add("priority", `${input.priority} must be >= 0`, "out_of_range");
  const effectiveTime = input.effectiveTime ?? now;
  const effectiveInRange = checkTimeInput(v, "effective_time", input.effectiveTime);
  const expireInRange = checkTimeInput(v, "expire_time", input.expireTime);
  if (effectiveInRange && expireInRange && input.expireTime && input.expireTime.getTime() <= effectiveTime.getTime()) {
    v.add("expire_time", `${input.expireTime.toISOString()} is not after effective_time ${effectiveTime.toISOString()}`, "out_of_range");
  }
  if (input.idempotencyKey === "") v.add("idempotency_key", "is required", "required");
  else if (input.idempotencyKey.length > RULES.maxIdempotencyKeyLength) {
    v.add("idempotency_key", `at most ${RULES.maxIdempotencyKeyLength} characters`, "too_long");
  }
  if (input.description.length > RULES.maxDescriptionLength) v.add("description", `at most ${RULES.maxDescriptionLength} characters`, "too_long");
  v.throwIfAny();
  return {
    customerId: input.customerId,
    currency: input.amount!.currency,
    amount: amount!,
    credits: input.credits,
    creditRate: input.creditRate,
    priority: input.priority,
    effectiveTime,
    expireTime: input.expireTime ?? null,
    idempotencyKey: input.idempotencyKey,
    description: input.description,
  };
}

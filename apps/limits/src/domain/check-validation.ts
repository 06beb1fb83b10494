import { Violations } from "@tally/platform";
import { Decimal } from "@tally/pricing";
import { decimalField } from "./decimal-field";
import { RULES } from "./rules";

export interface CheckInput {
  customerId: string;
  meterKey: string;
  quantity: string;
  reserve: boolean;
  /** undefined when unset. */
  reservationTtlMs: number | undefined;
  idempotencyKey: string;
}

export interface ValidCheck {
  customerId: string;
  meterKey: string;
  quantity: Decimal;
  reserve: boolean;
  ttlMs: number;
  idempotencyKey: string;
}

/** Validates a Check; `meterKnown` says whether some published plan prices the meter. */
export function validateCheck(input: CheckInput, meterKnown: boolean): ValidCheck {
  const v = new Violations();
  if (input.customerId === "") v.add("customer_id", "is required", "required");
  else if (input.customerId.length > RULES.maxIdLength) v.add("customer_id", `at most ${RULES.maxIdLength} characters`, "too_long");
  if (input.meterKey === "") v.add("meter_key", "is required", "required");
  else if (!meterKnown) v.add("meter_key", `unknown meter ${JSON.stringify(input.meterKey)} (no published plan prices it)`, "unknown_reference");
  const quantity = input.quantity === "" ? new Decimal(0) : decimalField(v, input.quantity, "quantity", { nonNegative: true });
  const ttlMs = input.reservationTtlMs ?? RULES.defaultReservationTtlMs;
  if (ttlMs <= 0 || ttlMs > RULES.maxReservationTtlMs) v.add("reservation_ttl", `${ttlMs} ms is outside (0, 1h]`, "out_of_range");
  if (input.idempotencyKey.length > RULES.maxIdempotencyKeyLength) {
    v.add("idempotency_key", `at most ${RULES.maxIdempotencyKeyLength} characters`, "too_long");
  }
  v.throwIfAny();
  return {
    customerId: input.customerId,
    meterKey: input.meterKey,
    quantity: quantity!,
    reserve: input.reserve,
    ttlMs,
    idempotencyKey: input.idempotencyKey,
  };
}

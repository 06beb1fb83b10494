import { Violations } from "@tally/platform";

/** Ids are opaque but bounded: no whitespace, 1–255 characters. */
const ID = /^[^\s]{1,255}$/;

export function validateChargeInput(input: { invoiceId: string; idempotencyKey: string }): void {
  const v = new Violations();
  checkId(v, "invoice_id", input.invoiceId);
  if (input.idempotencyKey === "") v.add("idempotency_key", "is required");
  else if (input.idempotencyKey.length > 255) v.add("idempotency_key", `must be at most 255 characters, got ${input.idempotencyKey.length}`);
  v.throwIfAny();
}

export function checkId(v: Violations, field: string, value: string): void {
  if (value === "") v.add(field, "is required");
  else if (!ID.test(value)) v.add(field, `${JSON.stringify(value.slice(0, 40))} is not a valid id (1–255 characters, no spaces)`);
}

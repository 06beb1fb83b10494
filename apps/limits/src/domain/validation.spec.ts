import { InvalidArgumentError } from "@tally/platform";
import { validateCheck } from "./check-validation";
import { validateGrant, type GrantInput } from "./grant-validation";
import { validateLimit, type LimitInput } from "./limit-validation";

const NOW = new Date("2026-01-10T00:00:00Z");

function fields(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidArgumentError) return err.violations.map((v) => v.field);
    throw err;
  }
  return [];
}

/** "field code" of each violation: the codes are a contract, clients branch on them. */
function codes(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidArgumentError) return err.violations.map((v) => `${v.field} ${v.code}`);
    throw err;
  }
  return [];
}

describe("validateLimit", () => {
  const valid: LimitInput = { id: "", scope: { planKey: "pro" }, meterKey: "tokens", kind: "hard_cap", measure: "units", value: "1000", currency: "", alerts: [{ percent: "80" }] };
  const facts = { scopeCurrency: "USD", meterKnown: true };

  it("accepts a valid limit", () => {
    expect(validateLimit(valid, facts).value.toFixed()).toBe("1000");
  });

  it("collects every problem, each naming its field", () => {
    const bad: LimitInput = { ...valid, kind: undefined, value: "-5", currency: "USD", alerts: [{ percent: "abc" }, undefined] };
    expect(fields(() => validateLimit(bad, { scopeCurrency: "USD", meterKnown: false }))).toEqual([
      "limit.kind",
      "limit.meter_key",
      "limit.value",
      "limit.currency",
      "limit.alerts[0].percent",
      "limit.alerts[1]",
    ]);
  });

  it("rejects an unknown plan, a SPEND currency other than the plan's and UNITS without a meter", () => {
    expect(fields(() => validateLimit(valid, { scopeCurrency: null, meterKnown: true }))).toEqual(["limit.plan_key"]);
    expect(fields(() => validateLimit({ ...valid, measure: "spend", currency: "EUR" }, facts))).toEqual(["limit.currency"]);
    expect(fields(() => validateLimit({ ...valid, meterKey: "" }, facts))).toEqual(["limit.meter_key"]);
  });
});

describe("validateGrant", () => {
  const valid: GrantInput = {
    customerId: "c1",
    amount: { currency: "USD", amount: "" },
    credits: "1000",
    creditRate: "0.01",
    priority: 0,
    effectiveTime: undefined,
    expireTime: undefined,
    idempotencyKey: "k1",
    description: "",
  };

  it("derives the amount from credits × rate and defaults the effective time to now", () => {
    const g = validateGrant(valid, "USD", NOW);
    expect([g.amount.toFixed(), g.effectiveTime.toISOString()]).toEqual(["10", NOW.toISOString()]);
  });

  it("rejects wrong currency, expiry before effective time, inconsistent credits and a missing key", () => {
    const bad: GrantInput = {
      ...valid,
      amount: { currency: "EUR", amount: "11" },
      expireTime: new Date("2026-01-09T00:00:00Z"),
      idempotencyKey: "",
      priority: -1,
    };
    expect(fields(() => validateGrant(bad, "USD", NOW))).toEqual(["amount.currency", "amount.amount", "priority", "expire_time", "idempotency_key"]);
  });

  it("rejects an unknown customer", () => {
    expect(fields(() => validateGrant(valid, null, NOW))).toEqual(["customer_id"]);
  });

  it("rejects times outside [2000, 2100), and one beyond any Date, instead of failing on them", () => {
    const far = { ...valid, effectiveTime: new Date("9999-12-31T23:59:59Z"), expireTime: new Date(Number.NaN) };
    expect(fields(() => validateGrant(far, "USD", NOW))).toEqual(["effective_time", "expire_time"]);
  });
});

describe("validateCheck", () => {
  it("rejects a negative quantity, an unknown meter and a TTL above 1h", () => {
    const input = { customerId: "c1", meterKey: "nope", quantity: "-1", reserve: true, reservationTtlMs: 3_600_001, idempotencyKey: "" };
    expect(fields(() => validateCheck(input, false))).toEqual(["meter_key", "quantity", "reservation_ttl"]);
  });

  it("treats an empty quantity as 0", () => {
    expect(validateCheck({ customerId: "c1", meterKey: "m", quantity: "", reserve: false, reservationTtlMs: undefined, idempotencyKey: "" }, true).quantity.toFixed()).toBe("0");
  });
});

describe("violation codes", () => {
  it("gives each rule its own stable code", () => {
    const limit: LimitInput = { id: "", scope: { planKey: "pro" }, meterKey: "tokens", kind: undefined, measure: "units", value: "-5", currency: "USD", alerts: [{ percent: "abc" }, undefined] };
    expect(codes(() => validateLimit(limit, { scopeCurrency: "USD", meterKnown: false }))).toEqual([
      "limit.kind required",
      "limit.meter_key unknown_reference",
      "limit.value negative",
      "limit.currency not_allowed",
      "limit.alerts[0].percent invalid_decimal",
      "limit.alerts[1] required",
    ]);
    const grant: GrantInput = {
      customerId: "c1",
      amount: { currency: "EUR", amount: "11" },
      credits: "1000",
      creditRate: "0.01",
      priority: -1,
      effectiveTime: undefined,
      expireTime: new Date("2026-01-09T00:00:00Z"),
      idempotencyKey: "",
      description: "",
    };
    expect(codes(() => validateGrant(grant, "USD", NOW))).toEqual([
      "amount.currency not_allowed",
      "amount.amount invalid_value",
      "priority out_of_range",
      "expire_time out_of_range",
      "idempotency_key required",
    ]);
    const check = { customerId: "", meterKey: "nope", quantity: "1.0000000000001", reserve: true, reservationTtlMs: 3_600_001, idempotencyKey: "k".repeat(256) };
    expect(codes(() => validateCheck(check, false))).toEqual([
      "customer_id required",
      "meter_key unknown_reference",
      "quantity too_many_decimal_places",
      "reservation_ttl out_of_range",
      "idempotency_key too_long",
    ]);
  });
});

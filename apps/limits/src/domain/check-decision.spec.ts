import { Decimal } from "@tally/pricing";
import { decideCheck, holdBounds, type CheckFacts } from "./check-decision";
import type { Limit } from "./types";

const d = (s: string) => new Decimal(s);
const cap = (value: string, over: Partial<Limit> = {}): Limit => ({
  id: "lim_cap",
  scope: { planKey: "pro" },
  meterKey: "tokens",
  kind: "hard_cap",
  measure: "units",
  value: d(value),
  currency: "",
  alerts: [],
  ...over,
});

function facts(over: Partial<CheckFacts> & { units?: string; reserved?: string } = {}): CheckFacts {
  return {
    subscriptionActive: true,
    limits: [cap("100")],
    position: {
      units: d(over.units ?? "0"),
      meterSpend: d("0"),
      totalSpend: d("0"),
      reservedUnits: d(over.reserved ?? "0"),
      reservedMeterCost: d("0"),
      reservedTotalCost: d("0"),
    },
    credits: { prepaidOnly: false, balance: d("0"), reservedCost: d("0") },
    quantity: d("1"),
    cost: d("0"),
    ...over,
  };
}

describe("decideCheck", () => {
  it.each([
    // usage + reserved + quantity vs cap 100
    ["90 + 0 + 10 = 100: exactly at the cap is allowed", "90", "0", "10", true],
    ["90 + 0 + 10.000000000001 > 100: denied", "90", "0", "10.000000000001", false],
    ["85 + 5 + 10 = 100: reservations count", "85", "5", "10", true],
    ["85 + 6 + 10 = 101: denied", "85", "6", "10", false],
    ["100 + 0 + 0: reporting at the cap is allowed", "100", "0", "0", true],
    ["101 + 0 + 0: already over, denied", "101", "0", "0", false],
  ])("%s", (_name, units, reserved, quantity, allowed) => {
    const decision = decideCheck(facts({ units, reserved, quantity: d(quantity) }));
    expect(decision.allowed).toBe(allowed);
    expect(decision.reason).toBe(allowed ? undefined : "hard_cap_exceeded");
  });

  it("reports the binding cap: limit, usage, holds and remaining (floored at 0)", () => {
    const decision = decideCheck(facts({ units: "95", reserved: "10", quantity: d("1") }));
    expect(decision.binding?.limit.id).toBe("lim_cap");
    expect(decision.binding?.current.toFixed()).toBe("95");
    expect(decision.binding?.reserved.toFixed()).toBe("10");
    expect(decision.binding?.remaining.toFixed()).toBe("0");
  });

  it("binds the hard cap with least room relative to its value", () => {
    const spendCap = cap("10", { id: "lim_spend", measure: "spend", meterKey: "", currency: "USD" });
    const f = facts({ units: "10", limits: [cap("100"), spendCap], cost: d("1") });
    f.position.totalSpend = d("8"); // 2/10 left vs 90/100 left
    expect(decideCheck(f).binding?.limit.id).toBe("lim_spend");
  });

  it("denies on a SPEND cap from the marginal cost, not the units", () => {
    const spendCap = cap("10", { id: "lim_spend", measure: "spend", meterKey: "tokens", currency: "USD" });
    const f = facts({ limits: [spendCap], cost: d("2.5") });
    f.position.meterSpend = d("7.5");
    expect(decideCheck(f).allowed).toBe(true); // 7.5 + 2.5 = 10
    f.position.reservedMeterCost = d("0.01");
    expect(decideCheck(f)).toMatchObject({ allowed: false, reason: "hard_cap_exceeded" });
  });

  it("allows past a soft limit but flags it", () => {
    const soft = cap("50", { id: "lim_soft", kind: "soft_limit" });
    const decision = decideCheck(facts({ limits: [soft], units: "50", quantity: d("1") }));
    expect(decision).toMatchObject({ allowed: true, softLimitExceeded: true });
    expect(decideCheck(facts({ limits: [soft], units: "49", quantity: d("1") })).softLimitExceeded).toBe(false);
  });

  it("with soft limits only, reports the soft limit with least room: limit, usage, holds, remaining", () => {
    const soft = cap("1000", { id: "lim_soft", kind: "soft_limit" });
    const tighter = cap("100", { id: "lim_soft_tight", kind: "soft_limit" });
    // 80 + 5 of 100 used or held: 15 left (15%) vs 915 of 1000 (91.5%)
    const b = decideCheck(facts({ limits: [soft, tighter], units: "80", reserved: "5" })).binding;
    expect([b?.limit.id, b?.limit.value.toFixed(), b?.current.toFixed(), b?.reserved.toFixed(), b?.remaining.toFixed()]).toEqual([
      "lim_soft_tight", "100", "80", "5", "15",
    ]);
  });

  it("a hard cap binds before any soft limit, however tight the soft limit", () => {
    const soft = cap("10", { id: "lim_soft", kind: "soft_limit" });
    expect(decideCheck(facts({ limits: [soft, cap("100")], units: "9" })).binding?.limit.id).toBe("lim_cap");
  });

  it("checks in order: no subscription, hard cap, credits", () => {
    const prepaid = { prepaidOnly: true, balance: d("0"), reservedCost: d("0") };
    expect(decideCheck(facts({ subscriptionActive: false, units: "500", credits: prepaid })).reason).toBe("no_subscription");
    expect(decideCheck(facts({ units: "500", credits: prepaid })).reason).toBe("hard_cap_exceeded");
    expect(decideCheck(facts({ credits: prepaid })).reason).toBe("credits_exhausted");
  });

  it("prepaid-only: allowed while balance − held covers the cost", () => {
    const credits = { prepaidOnly: true, balance: d("5"), reservedCost: d("3") };
    expect(decideCheck(facts({ limits: [], credits, cost: d("2") })).allowed).toBe(true); // 5 − 3 = 2 covers 2
    expect(decideCheck(facts({ limits: [], credits, cost: d("2.01") })).reason).toBe("credits_exhausted");
    expect(decideCheck(facts({ limits: [], credits, cost: d("2") })).creditsAvailable?.toFixed()).toBe("2");
  });

  it("bounds the holds under which an allowed decision stays allowed", () => {
    const spendCap = cap("10", { id: "lim_spend", measure: "spend", meterKey: "", currency: "USD" });
    const f = facts({ units: "90", reserved: "3", quantity: d("2"), limits: [cap("100"), cap("95"), spendCap], cost: d("1") });
    f.position.totalSpend = d("4");
    f.credits = { prepaidOnly: true, balance: d("50"), reservedCost: d("2") };
    expect(decideCheck(f).allowed).toBe(true);
    const b = holdBounds(f);
    // units: min(100 − 90 − 2, 95 − 90 − 2) = 3; total spend: min(10 − 4 − 1, seen held 2) = 2
    expect([b.units?.toFixed(), b.meterCost, b.totalCost?.toFixed()]).toEqual(["3", undefined, "2"]);
    // At the bound the decision still allows; one more unit held and it would not.
    expect(decideCheck({ ...f, position: { ...f.position, reservedUnits: d("3") } }).allowed).toBe(true);
    expect(decideCheck({ ...f, position: { ...f.position, reservedUnits: d("3.000000000001") } }).allowed).toBe(false);
  });
});

import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { rating } from "@tally/contracts";
import { Decimal } from "@tally/pricing";
import { PricerCache } from "@tally/plan-pricing";
import { planDraftFromProto } from "../adapter/plan-mapping";
import { buildRatePlan } from "./plan-validation";
import type { MeterInfo, RatePlan } from "./rate-plan";
import type { SubscriptionFacts } from "./subscription";
import { aggregateKey, applyPlacements, placeUsage, type AggregateState, type Reading, type UsageEvent } from "./usage-rating";

const meters: Record<string, MeterInfo> = {
  tokens: { key: "tokens", aggregation: "sum", groupBy: ["model"], active: true },
  seats: { key: "seats", aggregation: "max", groupBy: [], active: true },
  users: { key: "users", aggregation: "unique_count", groupBy: [], active: true },
  disk: { key: "disk", aggregation: "latest", groupBy: [], active: true },
};

function plan(key: string, components: MessageInitShape<typeof rating.PriceComponentSchema>[]): RatePlan {
  const proto = create(rating.PlanSchema, { key, name: key, currency: "USD", billingInterval: rating.BillingInterval.MONTH, components });
  return { ...buildRatePlan(planDraftFromProto(proto), (k) => meters[k]), version: 1 };
}

const graduated = (key: string, meterKey: string) => ({
  key,
  meterKey,
  displayName: key,
  pricing: {
    case: "price" as const,
    value: { model: { case: "graduated" as const, value: { tiers: [{ upTo: "10", unitAmount: "1" }, { upTo: "20", unitAmount: "0.5" }, { unitAmount: "0.1" }] } } },
  },
});

const PLAN = plan("p", [graduated("tok", "tokens"), graduated("seat", "seats"), graduated("user", "users"), graduated("disk", "disk")]);
const SUB: SubscriptionFacts = {
  id: "sub_1",
  customerId: "c1",
  timeZone: "UTC",
  anchor: "calendar",
  startTime: new Date("2026-03-01T00:00:00Z"),
  cancelTime: null,
  phases: [{ from: new Date("2026-03-01T00:00:00Z"), interval: "month" }],
  segments: [{ start: new Date("2026-03-01T00:00:00Z"), planKey: "p", planVersion: 1 }],
  createTime: new Date("2026-03-01T00:00:00Z"),
  revision: 1,
};

const ctx = (now = "2026-03-20T00:00:00Z") => ({
  now: new Date(now),
  lateGraceMs: 3_600_000,
  subscriptionsOf: (c: string) => (c === "c1" ? [SUB] : []),
  plan: () => PLAN,
});

let n = 0;
const ev = (time: string, reading: Partial<Reading> & { meterKey: string; value: string }, customerId = "c1"): UsageEvent => ({
  id: `e${String(++n).padStart(4, "0")}`,
  customerId,
  eventType: "t",
  time: new Date(time),
  readings: [{ aggregation: meters[reading.meterKey]?.aggregation ?? "sum", group: {}, ...reading }],
});

function rate(events: UsageEvent[], states = new Map<string, AggregateState>(), newUniques?: Set<string>) {
  const { placements, unrated } = placeUsage(events, ctx());
  const uniques = newUniques ?? new Set(placements.filter((p) => p.reading.aggregation === "unique_count").map((p) => `${aggregateKey(p.key)}\u0000${p.reading.value}`));
  return { ...applyPlacements(placements, states, uniques, new PricerCache()), unrated };
}

describe("placing usage", () => {
  it("keeps readings without a subscription, in a closed period or without a component, with the reason", () => {
    const { unrated } = rate([
      ev("2026-03-05T00:00:00Z", { meterKey: "tokens", value: "1" }, "nobody"),
      ev("2026-02-27T00:00:00Z", { meterKey: "tokens", value: "1" }), // before the start
      ev("2026-03-05T00:00:00Z", { meterKey: "unknown_meter", value: "1" }),
      ev("2026-03-05T00:00:00Z", { meterKey: "tokens", value: "abc" }),
    ]);
    expect(unrated.map((u) => u.reason)).toEqual(["no_subscription", "no_subscription", "no_component", "invalid_value"]);
    const closed = placeUsage([ev("2026-03-05T00:00:00Z", { meterKey: "tokens", value: "1" })], ctx("2026-04-01T01:00:00Z"));
    expect(closed.unrated.map((u) => u.reason)).toEqual(["period_closed"]);
    const inGrace = placeUsage([ev("2026-03-05T00:00:00Z", { meterKey: "tokens", value: "1" })], ctx("2026-04-01T00:59:59Z"));
    expect(inGrace.placements).toHaveLength(1);
  });
});

describe("applying usage", () => {
  it("sums, and reports each threshold crossing on the billable scale once", () => {
    const e1 = ev("2026-03-05T00:00:00Z", { meterKey: "tokens", value: "10" });
    const e2 = ev("2026-03-04T00:00:00Z", { meterKey: "tokens", value: "15" });
    const r = rate([e1, e2]);
    expect(r.changed[0]!.quantity.toFixed()).toBe("25");
    // 10 × 1 + 10 × 0.5 + 5 × 0.1 = 15.5
    expect(r.changed[0]!.amount.toFixed()).toBe("15.5");
    // 10 sits exactly on the first bound: no crossing until the next unit
    expect(r.crossings.map((c) => [c.eventId, c.fromTier, c.toTier, c.threshold.toFixed(), c.quantity.toFixed()])).toEqual([
      [e2.id, 0, 1, "10", "25"],
      [e2.id, 1, 2, "20", "25"],
    ]);
    expect(r.running).toHaveLength(1);
    expect(r.running[0]!.amount.toFixed()).toBe("15.5");
  });

  it("continues from stored state: MAX keeps the largest, LATEST the latest event time", () => {
    const first = rate([ev("2026-03-05T00:00:00Z", { meterKey: "seats", value: "12" }), ev("2026-03-05T00:00:00Z", { meterKey: "disk", value: "3" })]);
    const states = new Map(first.changed.map((s) => [aggregateKey(s.key), s]));
    const second = rate(
      [
        ev("2026-03-06T00:00:00Z", { meterKey: "seats", value: "7" }),
        ev("2026-03-04T00:00:00Z", { meterKey: "disk", value: "30" }), // older: ignored
        ev("2026-03-06T00:00:00Z", { meterKey: "disk", value: "2" }),
      ],
      states,
    );
    const q = Object.fromEntries(second.changed.map((s) => [s.key.componentKey, s.quantity.toFixed()]));
    expect(q).toEqual({ seat: "12", disk: "2" });
  });

  it("counts a unique value only when the database had not seen it", () => {
    const a = ev("2026-03-05T00:00:00Z", { meterKey: "users", value: "alice" });
    const b = ev("2026-03-05T00:00:00Z", { meterKey: "users", value: "bob" });
    const a2 = ev("2026-03-06T00:00:00Z", { meterKey: "users", value: "alice" });
    const { placements } = placeUsage([a, b, a2], ctx());
    const key = aggregateKey(placements[0]!.key);
    const r = applyPlacements(placements, new Map(), new Set([`${key}\u0000alice`]), new PricerCache()); // bob was seen before
    expect(r.changed[0]!.quantity.toFixed()).toBe("1");
  });

  it("goes down on a negative correction and says so", () => {
    const r = rate([ev("2026-03-05T00:00:00Z", { meterKey: "tokens", value: "15" }), ev("2026-03-05T00:00:00Z", { meterKey: "tokens", value: "-6" })]);
    expect(r.crossings.map((c) => [c.fromTier, c.toTier, c.direction])).toEqual([
      [0, 1, "up"],
      [1, 0, "down"],
    ]);
    expect(r.changed[0]!.amount.toFixed()).toBe("9");
  });

  it("is order-independent for sums: any permutation gives the same state", () => {
    const events = ["3", "7.5", "0.25", "12", "4"].map((v, i) => ev(`2026-03-0${i + 2}T00:00:00Z`, { meterKey: "tokens", value: v }));
    const forward = rate(events).changed[0]!;
    const backward = rate([...events].reverse()).changed[0]!;
    expect([forward.quantity.toFixed(), forward.amount.toFixed()]).toEqual([backward.quantity.toFixed(), backward.amount.toFixed()]);
    expect(forward.amount.eq(new Decimal(10).plus(new Decimal(10).times("0.5")).plus(new Decimal("6.75").times("0.1")))).toBe(true);
  });
});

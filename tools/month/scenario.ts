import { CURRENCIES, MODELS, type Currency, type PlanFamily } from "./plans";

/** Gets one event per tick whose time to being rated is measured; billed like everyone else. */
export const PROBE_CUSTOMER = "cus_probe";

/** November 2026: 30 days, the month every run bills. */
export const MONTH = { start: new Date("2026-11-01T00:00:00Z"), end: new Date("2026-12-01T00:00:00Z"), days: 30 } as const;
const DAY = 86_400_000;

export type PaymentProfile = "pays" | "recovers" | "never";

export interface PlanChange {
  at: Date;
  kind: "upgrade" | "downgrade_at_period_end" | "cancel";
  to?: PlanFamily;
}

export interface ScenarioCustomer {
  id: string;
  currency: Currency;
  family: PlanFamily;
  /** Relative volume: a few customers are 100× the median. */
  weight: number;
  payment: PaymentProfile;
  change?: PlanChange;
  /** A hard cap in tokens (with an 80 % alert): their events go through Check first. */
  capTokens?: number;
  /** Prepaid credits: one grant that lasts, one that expires mid-month. */
  credits?: { lasting: string; expiring: string; expiresAt: Date };
}

export interface UsageEvent {
  id: string;
  customerId: string;
  time: Date;
  tokens: number;
  model: string;
}

/** What is sent, in order, and why: the recomputation counts only what should be billed. */
export type Sent =
  | { kind: "event"; event: UsageEvent }
  | { kind: "duplicate"; event: UsageEvent }
  | { kind: "malformed"; id: string; customerId: string; time: Date };

export interface Scenario {
  seed: number;
  customers: ScenarioCustomer[];
  /** Every well-formed event, in time order (those of capped customers may be denied and never sent). */
  events: UsageEvent[];
  /** ~1 % re-sent copies and ~0.5 % malformed, with the position (event index) they go out after. */
  extras: { after: number; sent: Sent }[];
  /** Events held back and sent after the period ended: inside the grace period (billed) or after finalization (not). */
  lateInGrace: UsageEvent[];
  lateAfterClose: UsageEvent[];
}

/** mulberry32: small, fast and the same on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

export function generateScenario(o: { seed: number; customers: number; events: number }): Scenario {
  const r = seededRandom(o.seed);
  const families: PlanFamily[] = ["graduated", "volume", "package", "flat_usage", "dimensional", "prepaid"];
  const customers: ScenarioCustomer[] = [];
  for (let i = 0; i < o.customers; i++) {
    const family = families[i % families.length]!;
    const currency = CURRENCIES[Math.floor(i / families.length) % CURRENCIES.length]!;
    // Pareto-like volume: the heaviest customers send ~100× the median.
    const weight = Math.min(100, 1 / Math.pow(1 - r() * 0.99, 1.1));
    const roll = r();
    const payment: PaymentProfile = roll < 0.01 ? "never" : roll < 0.11 ? "recovers" : "pays";
    const c: ScenarioCustomer = { id: `cus_${String(i).padStart(5, "0")}`, currency, family, weight, payment };
    const changeRoll = r();
    const day = 8 + Math.floor(r() * 13);
    if (family === "graduated" && changeRoll < 0.3) c.change = { at: new Date(MONTH.start.getTime() + day * DAY), kind: "upgrade", to: "flat_usage" };
    else if (family === "package" && changeRoll < 0.3) c.change = { at: new Date(MONTH.start.getTime() + day * DAY), kind: "upgrade", to: "dimensional" };
    else if (family === "flat_usage" && changeRoll < 0.2) c.change = { at: new Date(MONTH.start.getTime() + day * DAY), kind: "downgrade_at_period_end", to: "graduated" };
    else if (family === "volume" && changeRoll < 0.1) c.change = { at: new Date(MONTH.start.getTime() + day * DAY), kind: "cancel" };
    if (family === "dimensional" && changeRoll > 0.85) c.capTokens = 1; // sized once the events are known
    if (family === "prepaid") c.credits = { lasting: currency === "JPY" ? "500" : "5", expiring: currency === "JPY" ? "300" : "3", expiresAt: new Date(MONTH.start.getTime() + 15 * DAY) };
    customers.push(c);
  }
  customers.push({ id: PROBE_CUSTOMER, currency: "USD", family: "graduated", weight: 0, payment: "pays" });
  if (!customers.some((c) => c.capTokens)) {
    const dim = customers.find((c) => c.family === "dimensional");
    if (dim) dim.capTokens = 1;
  }

  // Bursty days (launches, batch jobs) and a daily curve peaking in the afternoon.
  const dayWeights = Array.from({ length: MONTH.days }, () => (r() < 0.15 ? 3 + r() * 3 : 0.6 + r() * 0.8));
  const hourWeights = Array.from({ length: 24 }, (_, h) => 0.3 + Math.exp(-((h - 15) ** 2) / 18));
  const cumulative = (ws: number[]) => {
    let sum = 0;
    return ws.map((w) => (sum += w));
  };
  const dayCum = cumulative(dayWeights);
  const hourCum = cumulative(hourWeights);
  const custCum = cumulative(customers.map((c) => c.weight));
  const draw = (cum: number[]) => {
    const x = r() * cum.at(-1)!;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  const all: UsageEvent[] = [];
  for (let i = 0; i < o.events; i++) {
    const customer = customers[draw(custCum)]!;
    const time = new Date(MONTH.start.getTime() + draw(dayCum) * DAY + draw(hourCum) * 3_600_000 + Math.floor(r() * 3_600_000));
    if (customer.change?.kind === "cancel" && time >= customer.change.at) continue; // nobody uses a canceled subscription
    const tokens = Math.max(1, Math.round(Math.exp(r() * Math.log(5000))));
    all.push({ id: `ev_${o.seed}_${i}`, customerId: customer.id, time, tokens, model: pick(r, MODELS) });
  }
  all.sort((a, b) => a.time.getTime() - b.time.getTime() || (a.id < b.id ? -1 : 1));

  // Late: some of the last two days' events are held back until after the period ended.
  const lastTwoDays = MONTH.end.getTime() - 2 * DAY;
  const lateInGrace: UsageEvent[] = [];
  const lateAfterClose: UsageEvent[] = [];
  const events: UsageEvent[] = [];
  const cappedIds = new Set(customers.filter((c) => c.capTokens).map((c) => c.id));
  for (const e of all) {
    const late = e.time.getTime() >= lastTwoDays && !cappedIds.has(e.customerId) ? r() : 1;
    if (late < 0.03) lateInGrace.push(e);
    else if (late < 0.035) lateAfterClose.push(e);
    else events.push(e);
  }

  // Caps at about half of what the customer would send, so each one is hit mid-month.
  for (const c of customers.filter((x) => x.capTokens)) {
    const wanted = events.filter((e) => e.customerId === c.id).reduce((s, e) => s + e.tokens, 0);
    c.capTokens = Math.max(1000, Math.floor(wanted / 2));
  }

  const extras: Scenario["extras"] = [];
  for (let i = 0; i < events.length; i++) {
    const roll = r();
    if (roll < 0.01) extras.push({ after: Math.min(events.length - 1, i + 1 + Math.floor(r() * 2000)), sent: { kind: "duplicate", event: events[i]! } });
    else if (roll < 0.015) extras.push({ after: i, sent: { kind: "malformed", id: `bad_${o.seed}_${i}`, customerId: events[i]!.customerId, time: events[i]!.time } });
  }
  extras.sort((a, b) => a.after - b.after);
  return { seed: o.seed, customers, events, extras, lateInGrace, lateAfterClose };
}

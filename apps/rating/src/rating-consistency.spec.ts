import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { rating } from "@tally/contracts";
import { createTestEnvironment, ManualClock, type TestEnvironment } from "@tally/platform/testing";
import { createPricer, Decimal, type Price } from "@tally/pricing";
import { AGG, planInput, publishMeter, publishUsage, startRating, waitForEvents, waitForMeters, type RatingInstance, type TestEvent, waitForUsageConsumed } from "./testing/rating-test-kit";

/**
 * Consistency: random plans and random event streams through TWO rating instances running at
 * once (sharing the durable consumer, with redelivered duplicates); every rated amount must
 * equal the pricing library's total computed directly from the events.
 */

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type ProtoPrice = MessageInitShape<typeof rating.PriceSchema>;

/** A random price, as the proto for the plan AND independently as the library's Price (minus the minimum, like running amounts). */
function randomPrice(rand: () => number): { proto: ProtoPrice; lib: Price } {
  const amount = () => (Math.floor(rand() * 1000) / 1000).toFixed(3);
  const included = rand() < 0.4 ? String(Math.floor(rand() * 50)) : "";
  const maximum = rand() < 0.3 ? String(100 + Math.floor(rand() * 400)) : "";
  const kind = Math.floor(rand() * 4);
  let proto: ProtoPrice["model"];
  let model: Price["model"];
  if (kind === 0) {
    const u = amount();
    proto = { case: "perUnit", value: { unitAmount: u } };
    model = { kind: "per_unit", unitAmount: new Decimal(u) };
  } else if (kind === 3) {
    const size = String(1 + Math.floor(rand() * 20));
    const a = amount();
    proto = { case: "package", value: { packageSize: size, packageAmount: a } };
    model = { kind: "package", packageSize: new Decimal(size), packageAmount: new Decimal(a) };
  } else {
    const count = 1 + Math.floor(rand() * 4);
    let bound = 0;
    const tiers = Array.from({ length: count }, (_, i) => {
      bound += 1 + Math.floor(rand() * 200);
      return { upTo: i === count - 1 ? "" : String(bound), unitAmount: amount(), flatAmount: rand() < 0.3 ? amount() : "" };
    });
    const kindName = kind === 1 ? "graduated" : "volume";
    proto = { case: kindName, value: { tiers } };
    model = {
      kind: kindName,
      tiers: tiers.map((t) => ({ upTo: t.upTo ? new Decimal(t.upTo) : null, unitAmount: new Decimal(t.unitAmount), flatAmount: new Decimal(t.flatAmount || "0") })),
    };
  }
  return {
    proto: { model: proto, includedUnits: included, maximum },
    lib: { model, includedUnits: included ? new Decimal(included) : undefined, maximum: maximum ? new Decimal(maximum) : undefined },
  };
}

describe("rating consistency across two instances", () => {
  let env: TestEnvironment;
  let a: RatingInstance;
  let b: RatingInstance;
  const clock = new ManualClock("2026-05-20T00:00:00Z");

  beforeAll(async () => {
    env = await createTestEnvironment();
    [a, b] = await Promise.all([startRating(env, clock, { maxBatch: 8 }), startRating(env, clock, { maxBatch: 8 })]);
    await publishMeter(env, "tokens", AGG.SUM, ["model"]);
    await publishMeter(env, "calls", AGG.COUNT);
    await waitForMeters(a, ["tokens", "calls"]);
  }, 30_000);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await env?.close();
  });

  it("rates random streams exactly as the pricing library prices their totals", async () => {
    const rand = prng(20260520);
    const plans = Array.from({ length: 5 }, (_, i) => {
      const tok = randomPrice(rand);
      const call = randomPrice(rand);
      const gpt = randomPrice(rand);
      const fallback = randomPrice(rand);
      return { key: `rnd_${i}`, tok, call, gpt, fallback };
    });
    for (const p of plans) {
      await a.client.createPlan({
        plan: planInput(p.key, [
          { key: "tok", meterKey: "tokens", displayName: "Tokens", pricing: { case: "price", value: p.tok.proto } },
          { key: "call", meterKey: "calls", displayName: "Calls", pricing: { case: "price", value: p.call.proto } },
          {
            key: "by_model",
            meterKey: "tokens",
            displayName: "Tokens by model",
            pricing: { case: "dimensionalPrice", value: { dimension: "model", prices: { gpt: p.gpt.proto }, defaultPrice: p.fallback.proto } },
          },
        ]),
      });
    }
    const customers = Array.from({ length: 10 }, (_, i) => ({ id: `rc_${i}`, plan: plans[i % plans.length]! }));
    for (const c of customers) {
      await (c.id.endsWith("1") ? b : a).client.createSubscription({ customerId: c.id, planKey: c.plan.key, startTime: timestampFromDate(new Date("2026-05-01T00:00:00Z")) });
    }

    const events: TestEvent[] = [];
    for (let i = 0; i < 3000; i++) {
      const c = customers[Math.floor(rand() * customers.length)]!;
      const time = new Date(Date.parse("2026-05-01T00:00:00Z") + Math.floor(rand() * 19 * 86_400_000)).toISOString();
      const value = (Math.floor(rand() * 100_000) / 1000).toFixed(3);
      const model = rand() < 0.5 ? "gpt" : rand() < 0.5 ? "llama" : "mistral";
      events.push({
        id: `r${i}`,
        customerId: c.id,
        time,
        readings: [
          { meterKey: "tokens", aggregation: AGG.SUM, value, group: { model } },
          { meterKey: "calls", aggregation: AGG.COUNT, value: "1" },
        ],
      });
    }
    // 200 messages of 15 events; every 10th message is delivered again (a redelivery).
    const messages: TestEvent[][] = [];
    for (let i = 0; i < events.length; i += 15) messages.push(events.slice(i, i + 15));
    await Promise.all(messages.flatMap((m, i) => [publishUsage(env, m), ...(i % 10 === 0 ? [publishUsage(env, m)] : [])]));
    await waitForEvents(a, events.map((e) => e.id));
    await waitForUsageConsumed(env); // the redelivered copies have been handled too

    for (const c of customers) {
      const mine = events.filter((e) => e.customerId === c.id);
      const tokens = mine.reduce((s, e) => s.plus(e.readings[0]!.value), new Decimal(0));
      const byModel = new Map<string, Decimal>();
      for (const e of mine) byModel.set(e.readings[0]!.group!.model!, (byModel.get(e.readings[0]!.group!.model!) ?? new Decimal(0)).plus(e.readings[0]!.value));
      const usage = await a.client.getCurrentUsage({ customerId: c.id });
      const find = (key: string, value = "") => usage.components.find((u) => u.componentKey === key && u.dimensionValue === value)!;
      expect(find("tok").quantity).toBe(tokens.toFixed());
      expect(find("tok").amount!.amount).toBe(createPricer(c.plan.tok.lib).amount(tokens).toFixed());
      expect(find("call").quantity).toBe(String(mine.length));
      expect(find("call").amount!.amount).toBe(createPricer(c.plan.call.lib).amount(new Decimal(mine.length)).toFixed());
      for (const [model, q] of byModel) {
        const lib = model === "gpt" ? c.plan.gpt.lib : c.plan.fallback.lib;
        expect(find("by_model", model).amount!.amount).toBe(createPricer(lib).amount(q).toFixed());
      }
      // The invoice preview adds the same amounts (no fee, no minimum in these plans).
      const preview = (await b.client.previewInvoice({ customerId: c.id })).preview!;
      const expected = [createPricer(c.plan.tok.lib).amount(tokens), createPricer(c.plan.call.lib).amount(new Decimal(mine.length))]
        .concat([...byModel].map(([m, q]) => createPricer(m === "gpt" ? c.plan.gpt.lib : c.plan.fallback.lib).amount(q)))
        .reduce((s, x) => s.plus(x), new Decimal(0));
      expect(preview.subtotal).toBe(expected.toFixed());
    }
    // Both instances took part, and together applied every event exactly once.
    expect(a.internals.rater.stats.batches).toBeGreaterThan(0);
    expect(b.internals.rater.stats.batches).toBeGreaterThan(0);
    expect(a.internals.rater.stats.eventsApplied + b.internals.rater.stats.eventsApplied).toBe(events.length);
  }, 60_000);
});

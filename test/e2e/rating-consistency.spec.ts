import { createPricer, Decimal, type Price, type Tier } from "@tally/pricing";
import { metering, rating } from "@tally/contracts";
import { eventually, startPlatformStack, untilMeterKnown, type PlatformStack } from "../support/platform-stack";

/** Deterministic pseudo-random numbers so a failure reproduces from its seed. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Scenario {
  model: "graduated" | "volume";
  tiers: { upTo: string; unitAmount: string; flatAmount: string }[];
  quantities: string[];
}

function scenario(seed: number): Scenario {
  const random = mulberry32(seed);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  let bound = 0;
  const tiers = Array.from({ length: int(1, 4) }, () => {
    bound += int(1, 400);
    return { upTo: String(bound), unitAmount: `0.${String(int(1, 9999)).padStart(4, "0")}`, flatAmount: random() < 0.3 ? String(int(1, 20)) : "0" };
  });
  tiers.push({ upTo: "", unitAmount: `0.000${int(1, 9)}`, flatAmount: "0" });
  const quantities = Array.from({ length: int(10, 40) }, () => `${int(0, 120)}.${String(int(0, 999)).padStart(3, "0")}`);
  return { model: random() < 0.5 ? "graduated" : "volume", tiers, quantities };
}

function libraryPrice(s: Scenario): Price {
  const tiers: Tier[] = s.tiers.map((t) => ({
    upTo: t.upTo ? new Decimal(t.upTo) : null,
    unitAmount: new Decimal(t.unitAmount),
    flatAmount: new Decimal(t.flatAmount),
  }));
  return { model: { kind: s.model, tiers } };
}

/**
 * Random rate cards and random event streams through metering and rating:
 * what rating says a customer owes must equal the pricing library's total of
 * what metering stored.
 */
describe("rated amounts equal the library's price of metered usage", () => {
  let stack: PlatformStack;

  beforeAll(async () => {
    stack = await startPlatformStack();
    await stack.meter.createMeter({
      meter: { key: "gpu_seconds", eventType: "gpu.run", aggregation: metering.Aggregation.SUM, valueProperty: "seconds" },
    });
  });
  afterAll(() => stack?.stop());

  it.each([11, 22, 33, 44, 55])("seed %i", async (seed) => {
    const s = scenario(seed);
    const planKey = `plan_${seed}`;
    const customerId = `cus_${seed}`;
    await untilMeterKnown(() =>
      stack.rater.createPlan({
        plan: {
          key: planKey,
          name: planKey,
          currency: "EUR",
          billingInterval: rating.BillingInterval.MONTH,
          components: [
            {
              key: "gpu",
              meterKey: "gpu_seconds",
              displayName: "GPU seconds",
              pricing: { case: "price", value: { model: { case: s.model, value: { tiers: s.tiers } } } },
            },
          ],
        },
      }),
    );
    const start = new Date(Date.now() - 60_000);
    await stack.rater.createSubscription({ customerId, planKey, startTime: { seconds: BigInt(Math.floor(start.getTime() / 1000)) } });

    const events = s.quantities.map((seconds, i) => ({ id: `${seed}-${i}`, customerId, eventType: "gpu.run", properties: { seconds } }));
    const recorded = await stack.meter.recordBatch({ events });
    expect(recorded.acceptedCount).toBe(events.length);

    const stored = await stack.meter.queryUsage({
      customerId,
      meterKey: "gpu_seconds",
      from: { seconds: BigInt(Math.floor(start.getTime() / 60_000) * 60) },
      to: { seconds: BigInt(Math.ceil((Date.now() + 120_000) / 60_000) * 60) },
    });
    const meteredTotal = stored.rows.reduce((sum, row) => sum.plus(row.value), new Decimal(0));
    expect(meteredTotal.equals(s.quantities.reduce((sum, q) => sum.plus(q), new Decimal(0)))).toBe(true);

    const usage = await eventually(async () => {
      const { components } = await stack.rater.getCurrentUsage({ customerId });
      const gpu = components.find((c) => c.componentKey === "gpu");
      expect(gpu && new Decimal(gpu.quantity).equals(meteredTotal)).toBe(true);
      return gpu!;
    });
    const expected = createPricer(libraryPrice(s)).amount(meteredTotal);
    expect(new Decimal(usage.amount!.amount).equals(expected)).toBe(true);
  });
});

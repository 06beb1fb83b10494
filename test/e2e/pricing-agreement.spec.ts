import type { MessageInitShape } from "@bufbuild/protobuf";
import { limits, metering, rating } from "@tally/contracts";
import { Decimal } from "@tally/pricing";
import { eventually, startPlatformStack, untilMeterKnown, type PlatformStack } from "../support/platform-stack";

/**
 * Rating and limits price the same plan with one mapping (@tally/plan-pricing). For every model
 * kind, customer A records q0 units and customer B records q0 then Δ; rating prices both (A0, A1).
 * Limits, having seen A's usage through rating's events, must then agree to the last digit:
 * A's spend is A0, Δ more costs A1 − A0, a spend cap of A1 allows Δ and a cap one 10⁻¹² below
 * denies it. (Before the shared mapping, limits read a percentage rate as a percent: 100× too
 * permissive.)
 */
type PricingInit = MessageInitShape<typeof rating.PriceComponentSchema>["pricing"];
type PriceInit = MessageInitShape<typeof rating.PriceSchema>;
const single = (price: PriceInit): PricingInit => ({ case: "price", value: price });
const tiers = [{ upTo: "100", unitAmount: "0.1" }, { upTo: "1000", unitAmount: "0.05", flatAmount: "2" }, { unitAmount: "0.01" }];

const CASES: { kind: string; pricing: PricingInit; q0: string; delta: string }[] = [
  { kind: "per_unit", pricing: single({ model: { case: "perUnit", value: { unitAmount: "0.002" } } }), q0: "1500", delta: "250" },
  { kind: "graduated", pricing: single({ model: { case: "graduated", value: { tiers } } }), q0: "90", delta: "50" },
  { kind: "volume", pricing: single({ model: { case: "volume", value: { tiers } } }), q0: "90", delta: "50" },
  { kind: "package", pricing: single({ model: { case: "package", value: { packageSize: "100", packageAmount: "3" } } }), q0: "150", delta: "120" },
  { kind: "flat_per_tier", pricing: single({ model: { case: "graduated", value: { tiers: [{ upTo: "10", flatAmount: "5" }, { flatAmount: "20" }] } } }), q0: "8", delta: "5" },
  { kind: "flat_fee", pricing: single({ model: { case: "flatFee", value: { amount: "9" } } }), q0: "1", delta: "4" },
  { kind: "percentage", pricing: single({ model: { case: "percentage", value: { rate: "1.3" } } }), q0: "100", delta: "40" },
  { kind: "included_units", pricing: single({ model: { case: "perUnit", value: { unitAmount: "0.01" } }, includedUnits: "100" }), q0: "60", delta: "100" },
  {
    kind: "dimensional",
    pricing: {
      case: "dimensionalPrice",
      value: {
        dimension: "model",
        prices: { large: { model: { case: "perUnit", value: { unitAmount: "0.03" } } }, small: { model: { case: "perUnit", value: { unitAmount: "0.001" } } } },
      },
    },
    q0: "100",
    delta: "30",
  },
  { kind: "min_max", pricing: single({ model: { case: "perUnit", value: { unitAmount: "0.1" } }, minimum: "5", maximum: "20" }), q0: "150", delta: "100" },
];

const EPSILON = new Decimal("0.000000000001");

describe("rating and limits price every model kind the same", () => {
  let stack: PlatformStack;

  beforeAll(async () => {
    stack = await startPlatformStack();
    await stack.meter.createMeter({
      meter: { key: "units", eventType: "work", aggregation: metering.Aggregation.SUM, valueProperty: "n", groupBy: ["model"] },
    });
    const start = { seconds: BigInt(Math.floor(Date.now() / 1000) - 3600) };
    for (const c of CASES) {
      const planKey = `p_${c.kind}`;
      await untilMeterKnown(() =>
        stack.rater.createPlan({
          plan: {
            key: planKey,
            name: c.kind,
            currency: "USD",
            billingInterval: rating.BillingInterval.MONTH,
            components: [{ key: "units", meterKey: "units", displayName: "Units", pricing: c.pricing }],
          },
        }),
      );
      // Anniversary periods: the events fall in a whole first period. (A partial period prorates the
      // maximum in rating; limits then prices with the whole period's maximum, an over-estimate that
      // is never permissive: libs/plan-pricing marginalCost.)
      for (const who of ["a", "b"])
        await stack.rater.createSubscription({ customerId: `${who}_${c.kind}`, planKey, startTime: start, anchor: rating.BillingAnchor.ANNIVERSARY });
    }
    const events = CASES.flatMap((c) => [
      { id: `${c.kind}-a`, customerId: `a_${c.kind}`, eventType: "work", properties: { model: "large", n: c.q0 } },
      { id: `${c.kind}-b0`, customerId: `b_${c.kind}`, eventType: "work", properties: { model: "large", n: c.q0 } },
      { id: `${c.kind}-b1`, customerId: `b_${c.kind}`, eventType: "work", properties: { model: "large", n: c.delta } },
    ]);
    const { results } = await stack.meter.recordBatch({ events });
    expect(results.every((r) => r.status === metering.EventStatus.ACCEPTED)).toBe(true);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  async function ratedAmount(customerId: string, quantity: Decimal): Promise<Decimal> {
    return eventually(async () => {
      const { components } = await stack.rater.getCurrentUsage({ customerId });
      const rated = components.reduce((sum, c) => sum.plus(c.quantity), new Decimal(0));
      expect(rated.toFixed()).toBe(quantity.toFixed());
      return components.reduce((sum, c) => sum.plus(c.amount?.amount ?? "0"), new Decimal(0));
    });
  }

  async function spendCap(customerId: string, value: Decimal) {
    await eventually(() =>
      stack.limiter.setLimit({
        limit: {
          scope: { case: "customerId", value: customerId },
          meterKey: "units",
          kind: limits.LimitKind.HARD_CAP,
          measure: limits.LimitMeasure.SPEND,
          value: value.toFixed(),
          currency: "USD",
        },
      }),
    );
  }

  it.each(CASES)("$kind: same amounts, same spend-cap decisions", async (c) => {
    const a0 = await ratedAmount(`a_${c.kind}`, new Decimal(c.q0));
    const a1 = await ratedAmount(`b_${c.kind}`, new Decimal(c.q0).plus(c.delta));
    const customerId = `a_${c.kind}`;

    await spendCap(customerId, a1);
    const allowed = await eventually(async () => {
      const r = await stack.limiter.check({ customerId, meterKey: "units", quantity: c.delta });
      expect(r.currentUsage).toBe(a0.toFixed()); // limits has A's rated spend
      return r;
    });
    expect({ allowed: allowed.allowed, cost: allowed.cost }).toEqual({ allowed: true, cost: a1.minus(a0).toFixed() });

    await spendCap(customerId, a1.minus(EPSILON));
    const denied = await stack.limiter.check({ customerId, meterKey: "units", quantity: c.delta });
    expect({ allowed: denied.allowed, reason: denied.reason }).toEqual({ allowed: false, reason: limits.DenyReason.HARD_CAP_EXCEEDED });
  });
});

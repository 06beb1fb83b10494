import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { fromBinary } from "@bufbuild/protobuf";
import { DEFAULT_PROTO_ROOT } from "@tally/platform";
import { TEST_KEYS } from "@tally/platform/testing";
import { limits, metering, rating, SUBJECTS } from "@tally/contracts";
import { eventually, startPlatformStack, untilMeterKnown, type PlatformStack } from "../support/platform-stack";

/**
 * One usage event's whole path: recorded through a grpc-js client generated
 * at run time from the .proto files (as another team would), committed by
 * metering, rated by rating — which crosses a tier and says so exactly once —
 * and reflected in what limits allows next.
 */
describe("a usage event from Meter.Record to an updated tier", () => {
  let stack: PlatformStack;
  let recorder: grpc.Client & Record<string, any>;
  const customerId = "cus_e2e_tier";

  beforeAll(async () => {
    stack = await startPlatformStack();
    const definition = protoLoader.loadSync("tally/metering/v1/meter.proto", { includeDirs: [DEFAULT_PROTO_ROOT], enums: String });
    const Meter = (grpc.loadPackageDefinition(definition) as any).tally.metering.v1.Meter as grpc.ServiceClientConstructor;
    recorder = new Meter(stack.metering.address, grpc.credentials.createInsecure()) as any;

    await stack.meter.createMeter({
      meter: { key: "tokens", eventType: "llm.completion", aggregation: metering.Aggregation.SUM, valueProperty: "tokens", groupBy: ["model"] },
    });
    // Rating learns meters from metering's events: the plan is accepted once it has.
    await untilMeterKnown(() =>
      stack.rater.createPlan({
        plan: {
          key: "pro",
          name: "Pro",
          currency: "USD",
          billingInterval: rating.BillingInterval.MONTH,
          components: [
            {
              key: "tokens",
              meterKey: "tokens",
              displayName: "Tokens",
              pricing: {
                case: "price",
                value: {
                  model: {
                    case: "graduated",
                    value: {
                      tiers: [
                        { upTo: "1000", unitAmount: "0.002" },
                        { upTo: "10000", unitAmount: "0.0015" },
                        { unitAmount: "0.001" },
                      ],
                    },
                  },
                },
              },
            },
          ],
        },
      }),
    );
    await stack.rater.createSubscription({ customerId, planKey: "pro", startTime: { seconds: BigInt(Math.floor(Date.now() / 1000) - 3600) } });
    // Limits learns the customer from rating's subscription.changed event: a limit on them waits for it.
    await eventually(() =>
      stack.limiter.setLimit({
        limit: { scope: { case: "customerId", value: customerId }, meterKey: "tokens", kind: limits.LimitKind.HARD_CAP, measure: limits.LimitMeasure.UNITS, value: "5000" },
      }),
    );
  });

  afterAll(async () => {
    recorder?.close();
    await stack?.stop();
  });

  function record(id: string, tokens: string, key: string = TEST_KEYS.ingest): Promise<{ err: grpc.ServiceError | null; res: any }> {
    const md = new grpc.Metadata();
    md.set("authorization", `Bearer ${key}`);
    const event = { id, customerId, eventType: "llm.completion", properties: { model: "gpt-4o", tokens } };
    return new Promise((resolve) => recorder.Record({ event }, md, (err: grpc.ServiceError | null, res: unknown) => resolve({ err, res })));
  }

  it("rates each event once, crosses the tier at its threshold, and updates limits", async () => {
    expect((await record("evt-1", "600")).res.result.status).toBe("EVENT_STATUS_ACCEPTED");
    expect((await record("evt-2", "600")).res.result.status).toBe("EVENT_STATUS_ACCEPTED");
    // A retry of the same event is safe: reported as a duplicate, never counted again.
    expect((await record("evt-2", "600")).res.result.status).toBe("EVENT_STATUS_DUPLICATE");

    const usage = await eventually(async () => {
      const { components } = await stack.rater.getCurrentUsage({ customerId });
      const tokens = components.find((c) => c.componentKey === "tokens");
      expect(tokens?.quantity).toBe("1200");
      return tokens!;
    });
    expect(usage.tierIndex).toBe(1);
    expect(usage.tierLowerBound).toBe("1000");
    expect(usage.unitsToNextTier).toBe("8800");
    // 1000 × 0.002 + 200 × 0.0015 = 2.3
    expect(usage.amount?.amount).toBe("2.3");

    const crossing = await eventually(async () => {
      const stream = stack.env.bus.streamName("rating");
      const stored = await stack.env.bus.manager.streams.getMessage(stream, { last_by_subj: stack.env.bus.subject(SUBJECTS.rating.tierCrossed) });
      return fromBinary(rating.TierCrossedSchema, stored.data);
    });
    expect(crossing).toMatchObject({ customerId, componentKey: "tokens", fromTier: 0, toTier: 1, threshold: "1000", quantity: "1200", eventId: "evt-2" });

    // 5,000-unit hard cap, 1,200 used: 3,800 more fit, 3,801 do not.
    await eventually(async () => {
      const denied = await stack.limiter.check({ customerId, meterKey: "tokens", quantity: "3801" });
      expect(denied.allowed).toBe(false);
      expect(denied.currentUsage).toBe("1200");
    });
    const allowed = await stack.limiter.check({ customerId, meterKey: "tokens", quantity: "3800" });
    expect(allowed).toMatchObject({ allowed: true, remaining: "3800" });
  });

  it("rejects an ingest call without a key, and a meter creation with the ingest key", async () => {
    const md = new grpc.Metadata();
    const noKey = await new Promise<grpc.ServiceError | null>((resolve) =>
      recorder.Record({ event: { id: "evt-x", customerId, eventType: "llm.completion" } }, md, (err: grpc.ServiceError | null) => resolve(err)),
    );
    expect(noKey?.code).toBe(grpc.status.UNAUTHENTICATED);

    const ingestOnly = new grpc.Metadata();
    ingestOnly.set("authorization", `Bearer ${TEST_KEYS.ingest}`);
    const denied = await new Promise<grpc.ServiceError | null>((resolve) =>
      recorder.CreateMeter({ meter: { key: "other", eventType: "x", aggregation: "AGGREGATION_COUNT" } }, ingestOnly, (err: grpc.ServiceError | null) => resolve(err)),
    );
    expect(denied?.code).toBe(grpc.status.PERMISSION_DENIED);
  });
});

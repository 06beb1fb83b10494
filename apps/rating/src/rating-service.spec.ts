import { ConnectError, Code } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { rating, SUBJECTS } from "@tally/contracts";
import { createTestEnvironment, ManualClock, type TestEnvironment } from "@tally/platform/testing";
import { AGG, rateEvents, planInput, publishMeter, publishUsage, publishedMessages, startRating, waitForEvents, waitForMeters, type RatingInstance, type TestEvent, waitForUsageConsumed } from "./testing/rating-test-kit";

/** Plans, subscriptions and real-time rating end to end: real gRPC, Postgres and JetStream. */
describe("rating service", () => {
  let env: TestEnvironment;
  let clock: ManualClock;
  let svc: RatingInstance;
  const NOW = "2026-03-10T12:00:00Z";

  beforeAll(async () => {
    env = await createTestEnvironment();
    clock = new ManualClock(NOW);
    svc = await startRating(env, clock);
    await publishMeter(env, "tokens", AGG.SUM, ["model"]);
    await publishMeter(env, "requests", AGG.COUNT);
    await publishMeter(env, "seats", AGG.MAX);
    await publishMeter(env, "users", AGG.UNIQUE_COUNT);
    await publishMeter(env, "storage", AGG.LATEST);
    await publishMeter(env, "revenue", AGG.SUM);
    await waitForMeters(svc, ["tokens", "requests", "seats", "users", "storage", "revenue"]);
  }, 30_000);
  afterAll(async () => {
    await svc?.stop();
    await env?.close();
  });
  beforeEach(() => clock.set(NOW));

  const code = async (p: Promise<unknown>): Promise<{ code: Code; message: string }> => {
    try {
      await p;
    } catch (err) {
      const e = ConnectError.from(err);
      return { code: e.code, message: e.rawMessage };
    }
    throw new Error("expected a failure");
  };

  const graduated = (key: string, meterKey = "tokens") => ({
    key,
    meterKey,
    displayName: key,
    pricing: {
      case: "price" as const,
      value: {
        // 0–100 at 1, 100–1000 at 0.5, above at 0.1
        model: { case: "graduated" as const, value: { tiers: [{ upTo: "100", unitAmount: "1" }, { upTo: "1000", unitAmount: "0.5" }, { unitAmount: "0.1" }] } },
      },
    },
  });

  let customerSeq = 0;
  async function subscribe(
    planKey: string,
    extra: { customerId?: string; idempotencyKey?: string; timeZone?: string; startTime?: ReturnType<typeof timestampFromDate> } = {},
  ): Promise<rating.Subscription> {
    const customerId = extra.customerId ?? `cus_${++customerSeq}`;
    const res = await svc.client.createSubscription({ customerId, planKey, startTime: timestampFromDate(new Date("2026-03-01T00:00:00Z")), ...extra });
    return res.subscription!;
  }

  let eventSeq = 0;
  const sum = (customerId: string, value: string, time = NOW, meterKey = "tokens", group: Record<string, string> = {}): TestEvent => ({
    id: `evt_${++eventSeq}`,
    customerId,
    time,
    readings: [{ meterKey, aggregation: AGG.SUM, value, group }],
  });

  const rate = (events: TestEvent[]) => rateEvents(env, svc, events);

  async function usage(customerId: string, componentKey: string, dimensionValue = "") {
    const res = await svc.client.getCurrentUsage({ customerId });
    return res.components.find((c) => c.componentKey === componentKey && c.dimensionValue === dimensionValue);
  }

  describe("plans", () => {
    it("rejects invalid prices naming every field path", async () => {
      const bad = planInput("bad_plan", [
        {
          key: "tok",
          meterKey: "tokens",
          displayName: "Tokens",
          pricing: { case: "price", value: { model: { case: "graduated", value: { tiers: [{ upTo: "100", unitAmount: "1" }, { upTo: "50", unitAmount: "2" }, { upTo: "10", unitAmount: "x" }] } } } },
        },
        { key: "gone", meterKey: "no_such_meter", displayName: "Gone", pricing: { case: "price", value: { model: { case: "perUnit", value: { unitAmount: "1" } } } } },
      ]);
      const err = await code(svc.client.createPlan({ plan: bad }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.message).toContain("plan.components[0].price.graduated.tiers[2].unit_amount");
      expect(err.message).toContain("plan.components[1].meter_key");
      const err2 = await code(
        svc.client.createPlan({
          plan: planInput("bad_plan", [
            { key: "tok", meterKey: "tokens", displayName: "Tokens", pricing: { case: "price", value: { model: { case: "graduated", value: { tiers: [{ upTo: "100", unitAmount: "1" }, { upTo: "50", unitAmount: "2" }, { unitAmount: "1" }] } } } } },
          ]),
        }),
      );
      expect(err2.message).toContain("plan.components[0].price.graduated.tiers[1].up_to");
    });

    it("rejects a dimension the meter does not group by and a percentage on a non-SUM meter", async () => {
      const err = await code(
        svc.client.createPlan({
          plan: planInput("bad_dims", [
            { key: "tok", meterKey: "tokens", displayName: "T", pricing: { case: "dimensionalPrice", value: { dimension: "region", defaultPrice: { model: { case: "perUnit", value: { unitAmount: "1" } } } } } },
            { key: "pct", meterKey: "requests", displayName: "P", pricing: { case: "price", value: { model: { case: "percentage", value: { rate: "2" } } } } },
          ]),
        }),
      );
      expect(err.message).toContain("plan.components[0].dimensional_price.dimension");
      expect(err.message).toContain("plan.components[1].price.percentage");
    });

    it("versions plans: update creates v2, subscriptions keep theirs", async () => {
      const v1 = (await svc.client.createPlan({ plan: planInput("versioned", [graduated("tok")]) })).plan!;
      expect(v1.version).toBe(1);
      expect((await code(svc.client.createPlan({ plan: planInput("versioned", [graduated("tok")]) }))).code).toBe(Code.AlreadyExists);
      const sub = await subscribe("versioned");
      const v2 = (await svc.client.updatePlan({ plan: planInput("versioned", [graduated("tok"), graduated("req", "requests")]), expectedVersion: 1 })).plan!;
      expect(v2.version).toBe(2);
      expect((await code(svc.client.updatePlan({ plan: planInput("versioned", [graduated("tok")]), expectedVersion: 1 }))).code).toBe(Code.Aborted);
      expect((await svc.client.getPlan({ key: "versioned" })).plan!.version).toBe(2);
      expect((await svc.client.getPlan({ key: "versioned", version: 1 })).plan!.components).toHaveLength(1);
      expect((await svc.client.getSubscription({ subscriptionId: sub.id })).subscription!.planVersion).toBe(1);
      const versions = await svc.client.listPlans({ key: "versioned", pageSize: 1 });
      expect(versions.plans.map((p) => p.version)).toEqual([2]);
      const next = await svc.client.listPlans({ key: "versioned", pageSize: 1, pageToken: versions.nextPageToken });
      expect(next.plans.map((p) => p.version)).toEqual([1]);
      const published = await publishedMessages(env, svc, SUBJECTS.rating.planPublished, rating.PlanPublishedSchema);
      expect(published.filter((m) => m.plan?.key === "versioned").map((m) => m.plan!.version)).toEqual([1, 2]);
    });
  });

  describe("subscriptions", () => {
    beforeAll(async () => {
      await svc.client.createPlan({ plan: planInput("basic", [graduated("tok")], { recurringFee: { amount: "30", timing: rating.FeeTiming.IN_ADVANCE } }) });
    });

    it("allows one live subscription per customer; an idempotent retry returns the first", async () => {
      const first = await subscribe("basic", { customerId: "cus_one", idempotencyKey: "k1" });
      expect(first.status).toBe(rating.SubscriptionStatus.ACTIVE);
      expect(first.currentPeriod!.start).toEqual(timestampFromDate(new Date("2026-03-01T00:00:00Z")));
      expect(first.currentPeriod!.end).toEqual(timestampFromDate(new Date("2026-04-01T00:00:00Z")));
      expect((await subscribe("basic", { customerId: "cus_one", idempotencyKey: "k1" })).id).toBe(first.id);
      const err = await code(subscribe("basic", { customerId: "cus_one" }));
      expect(err.code).toBe(Code.AlreadyExists);
      const changes = await publishedMessages(env, svc, SUBJECTS.rating.subscriptionChanged, rating.SubscriptionChangedSchema);
      expect(changes.filter((c) => c.subscription?.id === first.id).map((c) => c.kind)).toEqual([rating.ChangeKind.CREATED]);
    });

    it("validates time zones and the backfill window", async () => {
      expect((await code(subscribe("basic", { timeZone: "Mars/Olympus" }))).message).toContain("time_zone");
      expect((await code(subscribe("basic", { startTime: timestampFromDate(new Date("2026-01-01T00:00:00Z")) }))).message).toContain("start_time");
    });

    it("rejects a start time outside the accepted range, whose period end no client could parse", async () => {
      const err = await code(subscribe("basic", { startTime: timestampFromDate(new Date("9999-12-31T23:59:59Z")) }));
      expect([err.code, err.message]).toEqual([Code.InvalidArgument, expect.stringContaining("start_time")]);
    });

    it("places periods in the customer's time zone", async () => {
      const sub = await subscribe("basic", { timeZone: "America/New_York", startTime: timestampFromDate(new Date("2026-02-20T00:00:00Z")) });
      // March 2026 in New York: EST until Mar 8, then EDT.
      expect(sub.currentPeriod!.start).toEqual(timestampFromDate(new Date("2026-03-01T05:00:00Z")));
      expect(sub.currentPeriod!.end).toEqual(timestampFromDate(new Date("2026-04-01T04:00:00Z")));
    });

    it("cancels at period end (pending) and immediately", async () => {
      const sub = await subscribe("basic");
      const scheduled = (await svc.client.cancelSubscription({ subscriptionId: sub.id, timing: rating.ChangeTiming.AT_PERIOD_END })).subscription!;
      expect(scheduled.status).toBe(rating.SubscriptionStatus.ACTIVE);
      expect(scheduled.pendingChange?.kind).toBe(rating.PendingChangeKind.CANCEL);
      const now = (await svc.client.cancelSubscription({ subscriptionId: sub.id, timing: rating.ChangeTiming.IMMEDIATELY })).subscription!;
      expect(now.status).toBe(rating.SubscriptionStatus.CANCELED);
      expect(now.cancelTime).toEqual(timestampFromDate(new Date(NOW)));
      expect(now.revision).toBe(3n);
      // The customer may subscribe again afterwards.
      clock.set("2026-03-10T13:00:00Z");
      const again = await subscribe("basic", { customerId: sub.customerId, startTime: timestampFromDate(new Date("2026-03-10T13:00:00Z")) });
      expect(again.status).toBe(rating.SubscriptionStatus.ACTIVE);
    });
  });

  describe("real-time rating", () => {
    beforeAll(async () => {
      await svc.client.createPlan({ plan: planInput("grad", [graduated("tok")]) });
    });

    it("rates SUM usage with graduated tiers, tier position and running amount", async () => {
      const sub = await subscribe("grad");
      await rate([sum(sub.customerId, "40"), sum(sub.customerId, "60")]);
      let u = await usage(sub.customerId, "tok");
      // exactly on the boundary: 100 is still tier 0 (upper bound inclusive), 0 units to the next
      expect(u).toMatchObject({ quantity: "100", tierIndex: 0, tierLowerBound: "0", tierUpperBound: "100", unitsToNextTier: "0" });
      expect(u!.amount!.amount).toBe("100");
      await rate([sum(sub.customerId, "150")]);
      u = await usage(sub.customerId, "tok");
      // 100 × 1 + 150 × 0.5 = 175
      expect(u).toMatchObject({ quantity: "250", tierIndex: 1, tierUpperBound: "1000", unitsToNextTier: "750" });
      expect(u!.amount!.amount).toBe("175");
      const crossings = (await publishedMessages(env, svc, SUBJECTS.rating.tierCrossed, rating.TierCrossedSchema)).filter((c) => c.subscriptionId === sub.id);
      expect(crossings).toHaveLength(1);
      expect(crossings[0]).toMatchObject({ fromTier: 0, toTier: 1, threshold: "100", quantity: "250", direction: rating.Direction.UP });
    });

    it("reports two crossings in one event as two messages, in order", async () => {
      const sub = await subscribe("grad");
      const e = sum(sub.customerId, "5000");
      await rate([e]);
      const crossings = (await publishedMessages(env, svc, SUBJECTS.rating.tierCrossed, rating.TierCrossedSchema)).filter((c) => c.subscriptionId === sub.id);
      expect(crossings).toHaveLength(2);
      expect(crossings[0]).toMatchObject({ fromTier: 0, toTier: 1, threshold: "100", quantity: "5000", eventId: e.id });
      expect(crossings[1]).toMatchObject({ fromTier: 1, toTier: 2, threshold: "1000", quantity: "5000", eventId: e.id });
      // 100 + 900 × 0.5 + 4000 × 0.1 = 950
      expect((await usage(sub.customerId, "tok"))!.amount!.amount).toBe("950");
    });

    it("applies each event once: same message twice, same event id in two messages", async () => {
      const sub = await subscribe("grad");
      const a = sum(sub.customerId, "10");
      const b = sum(sub.customerId, "20");
      await publishUsage(env, [a, b], "dup-msg-1");
      await publishUsage(env, [a, b], "dup-msg-2"); // a redelivery under another message id
      const c = sum(sub.customerId, "5");
      await publishUsage(env, [c, a]); // a third copy of `a` next to a new event
      await waitForEvents(svc, [a.id, b.id, c.id]);
      // every message, the copies included, has been through the handler
      await waitForUsageConsumed(env);
      expect((await usage(sub.customerId, "tok"))!.quantity).toBe("35");
      expect(svc.internals.rater.stats.duplicates).toBeGreaterThanOrEqual(3);
    });

    it("publishes one UsageRated per batch with increasing sequences", async () => {
      const sub = await subscribe("grad");
      await rate([sum(sub.customerId, "1"), sum(sub.customerId, "2")]);
      await rate([sum(sub.customerId, "3")]);
      const rated = (await publishedMessages(env, svc, SUBJECTS.rating.usageRated, rating.UsageRatedSchema))
        .flatMap((m) => m.amounts)
        .filter((a) => a.subscriptionId === sub.id);
      expect(rated.map((r) => [r.quantity, r.amount, r.sequence])).toEqual([
        ["3", "3", 1n],
        ["6", "6", 2n],
      ]);
      expect(rated[0]).toMatchObject({ customerId: sub.customerId, componentKey: "tok", currency: "USD", planKey: "grad", planVersion: 1 });
    });

    it("aggregates COUNT, MAX, UNIQUE_COUNT and LATEST per period, in any event order", async () => {
      const perUnit = (key: string, meterKey: string) => ({
        key,
        meterKey,
        displayName: key,
        pricing: { case: "price" as const, value: { model: { case: "perUnit" as const, value: { unitAmount: "2" } } } },
      });
      await svc.client.createPlan({ plan: planInput("aggs", [perUnit("req", "requests"), perUnit("seat", "seats"), perUnit("user", "users"), perUnit("disk", "storage")]) });
      const sub = await subscribe("aggs");
      const c = sub.customerId;
      const ev = (time: string, meterKey: string, aggregation: number, value: string): TestEvent => ({ id: `evt_${++eventSeq}`, customerId: c, time, readings: [{ meterKey, aggregation, value }] });
      await rate([
        ev("2026-03-05T00:00:00Z", "requests", AGG.COUNT, "1"),
        ev("2026-03-03T00:00:00Z", "requests", AGG.COUNT, "1"),
        ev("2026-03-05T00:00:00Z", "seats", AGG.MAX, "4"),
        ev("2026-03-04T00:00:00Z", "seats", AGG.MAX, "9"),
        ev("2026-03-06T00:00:00Z", "seats", AGG.MAX, "2"),
        ev("2026-03-05T00:00:00Z", "users", AGG.UNIQUE_COUNT, "alice"),
        ev("2026-03-05T00:00:00Z", "users", AGG.UNIQUE_COUNT, "bob"),
        ev("2026-03-06T00:00:00Z", "users", AGG.UNIQUE_COUNT, "alice"),
        // LATEST: the value at the greatest event time wins, whatever the arrival order
        ev("2026-03-08T00:00:00Z", "storage", AGG.LATEST, "30"),
        ev("2026-03-02T00:00:00Z", "storage", AGG.LATEST, "99"),
      ]);
      await rate([ev("2026-03-07T00:00:00Z", "storage", AGG.LATEST, "50"), ev("2026-03-07T00:00:00Z", "users", AGG.UNIQUE_COUNT, "bob"), ev("2026-03-07T00:00:00Z", "users", AGG.UNIQUE_COUNT, "carol")]);
      const q = async (k: string) => (await usage(c, k))!.quantity;
      expect([await q("req"), await q("seat"), await q("user"), await q("disk")]).toEqual(["2", "9", "3", "30"]);
      expect((await usage(c, "user"))!.amount!.amount).toBe("6"); // 3 × 2
    });

    it("prices package, flat fee and percentage components", async () => {
      const c = (key: string, meterKey: string, model: rating.Price["model"]) => ({ key, meterKey, displayName: key, pricing: { case: "price" as const, value: { model } } });
      await svc.client.createPlan({
        plan: planInput("models", [
          c("pkg", "tokens", { case: "package", value: create(rating.PackageModelSchema, { packageSize: "1000", packageAmount: "2" }) }),
          c("flat", "requests", { case: "flatFee", value: create(rating.FlatFeeModelSchema, { amount: "9" }) }),
          c("pct", "revenue", { case: "percentage", value: create(rating.PercentageModelSchema, { rate: "1.3" }) }),
        ]),
      });
      const sub = await subscribe("models");
      const cu = sub.customerId;
      expect((await usage(cu, "flat"))!.amount!.amount).toBe("0"); // no usage, no flat fee
      await rate([
        sum(cu, "2500"),
        { id: `evt_${++eventSeq}`, customerId: cu, time: NOW, readings: [{ meterKey: "requests", aggregation: AGG.COUNT, value: "1" }] },
        sum(cu, "200.40", NOW, "revenue"),
      ]);
      expect((await usage(cu, "pkg"))!.amount!.amount).toBe("6"); // 3 started packages × 2
      expect((await usage(cu, "flat"))!.amount!.amount).toBe("9");
      expect((await usage(cu, "pct"))!.amount!.amount).toBe("260.52"); // model cost 200.40 resold × 1.3
    });

    it("volume tiers: the amount goes down into a cheaper tier and back up on a correction", async () => {
      await svc.client.createPlan({
        plan: planInput("vol", [
          {
            key: "tok",
            meterKey: "tokens",
            displayName: "Tokens",
            pricing: {
              case: "price",
              value: { model: { case: "volume", value: { tiers: [{ upTo: "100", unitAmount: "1" }, { upTo: "1000", unitAmount: "0.5" }, { unitAmount: "0.1" }] } } },
            },
          },
        ]),
      });
      const sub = await subscribe("vol");
      await rate([sum(sub.customerId, "100")]);
      expect((await usage(sub.customerId, "tok"))!.amount!.amount).toBe("100"); // 100 × 1
      const up = sum(sub.customerId, "1");
      await rate([up]);
      expect((await usage(sub.customerId, "tok"))!.amount!.amount).toBe("50.5"); // 101 × 0.5: cheaper
      const down = sum(sub.customerId, "-2");
      await rate([down]);
      expect((await usage(sub.customerId, "tok"))).toMatchObject({ quantity: "99", tierIndex: 0 });
      const crossings = (await publishedMessages(env, svc, SUBJECTS.rating.tierCrossed, rating.TierCrossedSchema)).filter((x) => x.subscriptionId === sub.id);
      expect(crossings.map((x) => [x.eventId, x.direction, x.fromTier, x.toTier, x.threshold])).toEqual([
        [up.id, rating.Direction.UP, 0, 1, "100"],
        [down.id, rating.Direction.DOWN, 1, 0, "100"],
      ]);
      const rated = (await publishedMessages(env, svc, SUBJECTS.rating.usageRated, rating.UsageRatedSchema)).flatMap((m) => m.amounts).filter((a) => a.subscriptionId === sub.id);
      expect(rated.map((r) => r.amount)).toEqual(["100", "50.5", "99"]);
    });

    it("prices a dimensional component per dimension value and keeps values without a price", async () => {
      await svc.client.createPlan({
        plan: planInput("dims", [
          {
            key: "tok",
            meterKey: "tokens",
            displayName: "Tokens",
            pricing: {
              case: "dimensionalPrice",
              value: {
                dimension: "model",
                prices: {
                  "gpt-4o": { model: { case: "perUnit", value: { unitAmount: "0.01" } }, includedUnits: "10" },
                  mini: { model: { case: "graduated", value: { tiers: [{ upTo: "5", unitAmount: "0.001" }, { unitAmount: "0.0005" }] } } },
                },
              },
            },
          },
        ]),
      });
      const sub = await subscribe("dims");
      const c = sub.customerId;
      const unpriced = sum(c, "3", NOW, "tokens", { model: "gpt-5" });
      await rate([sum(c, "100", NOW, "tokens", { model: "gpt-4o" }), sum(c, "8", NOW, "tokens", { model: "mini" }), unpriced]);
      const gpt = await usage(c, "tok", "gpt-4o");
      expect(gpt).toMatchObject({ quantity: "100", billableQuantity: "90" });
      expect(gpt!.amount!.amount).toBe("0.9"); // (100 − 10) × 0.01
      expect((await usage(c, "tok", "mini"))!.amount!.amount).toBe("0.0065"); // 5 × 0.001 + 3 × 0.0005
      const kept = await svc.client.listUnratedEvents({ customerId: c });
      expect(kept.events.map((e) => [e.eventId, e.reason])).toEqual([[unpriced.id, rating.UnratedReason.NO_PRICE]]);
      const crossings = (await publishedMessages(env, svc, SUBJECTS.rating.tierCrossed, rating.TierCrossedSchema)).filter((x) => x.subscriptionId === sub.id);
      expect(crossings.map((x) => [x.dimensionValue, x.fromTier, x.toTier])).toEqual([["mini", 0, 1]]);
    });

    it("keeps events without a subscription, then rates them when a backdated subscription covers them", async () => {
      const e = sum("cus_late_signup", "42", "2026-03-05T00:00:00Z");
      await rate([e]);
      const unrated = await svc.client.listUnratedEvents({ customerId: "cus_late_signup" });
      expect(unrated.events).toHaveLength(1);
      expect(unrated.events[0]).toMatchObject({ eventId: e.id, meterKey: "tokens", value: "42", reason: rating.UnratedReason.NO_SUBSCRIPTION });
      await subscribe("grad", { customerId: "cus_late_signup", startTime: timestampFromDate(new Date("2026-03-04T00:00:00Z")) });
      expect((await usage("cus_late_signup", "tok"))!.quantity).toBe("42");
      expect((await svc.client.listUnratedEvents({ customerId: "cus_late_signup" })).events).toHaveLength(0);
    });

    it("keeps events of a closed period unrated and rates late events of the open period", async () => {
      const sub = await subscribe("grad", { startTime: timestampFromDate(new Date("2026-02-10T00:00:00Z")) });
      const closed = sum(sub.customerId, "7", "2026-02-27T00:00:00Z"); // February closed at Mar 1 01:00
      const late = sum(sub.customerId, "8", "2026-03-02T00:00:00Z"); // earlier than NOW, same period
      await rate([closed, late]);
      expect((await usage(sub.customerId, "tok"))!.quantity).toBe("8");
      const unrated = await svc.client.listUnratedEvents({ customerId: sub.customerId });
      expect(unrated.events.map((u) => [u.eventId, u.reason])).toEqual([[closed.id, rating.UnratedReason.PERIOD_CLOSED]]);
      // Within the grace window the previous period still takes usage.
      clock.set("2026-04-01T00:30:00Z");
      const inGrace = sum(sub.customerId, "9", "2026-03-31T23:59:00Z");
      await rate([inGrace]);
      clock.set("2026-03-31T23:59:30Z");
      expect((await usage(sub.customerId, "tok"))!.quantity).toBe("17");
    });
  });
});

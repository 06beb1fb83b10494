import { fromBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import fc from "fast-check";
import { create } from "@bufbuild/protobuf";
import { limits as pb, rating, SUBJECTS } from "@tally/contracts";
import { createPool, startService, type RunningService } from "@tally/platform";
import { createTestClient, createTestEnvironment, ManualClock, TEST_KEYS, type TestClient, type TestEnvironment } from "@tally/platform/testing";
import { Decimal } from "@tally/pricing";
import { createLimitsApp, limitsService, type LimitsApp } from "./limits-service";
import { eventually, RatingEvents } from "./testing/rating-events";

const JAN = { periodStart: "2026-01-01T00:00:00Z", periodEnd: "2026-02-01T00:00:00Z" };
const FEB = { periodStart: "2026-02-01T00:00:00Z", periodEnd: "2026-03-01T00:00:00Z" };
const CUSTOMERS = ["c-cap", "c-race", "c-idem", "c-settle", "c-alert", "c-credit", "c-prepaid", "c-plan", "c-neg", "c-spend", "c-cache", "c-soft"];

describe("limits service (real Postgres, NATS and gRPC)", () => {
  let env: TestEnvironment;
  let running: RunningService;
  let test: TestClient<typeof pb.Limits>;
  let client: TestClient<typeof pb.Limits>["client"];
  let rated: RatingEvents;
  let app: LimitsApp;
  const clock = new ManualClock("2026-01-10T00:00:00Z");

  beforeAll(async () => {
    env = await createTestEnvironment();
    running = await startService(limitsService, env.config("limits"), { clock });
    test = createTestClient(pb.Limits, running.address, TEST_KEYS.all);
    client = test.client;
    app = createLimitsApp(running.deps);
    rated = new RatingEvents(env.bus);
    await rated.plan("pro", "USD", [
      { key: "tokens", meterKey: "tokens", unitAmount: "0.01" },
      { key: "images", meterKey: "images", unitAmount: "0.5" },
    ]);
    for (const [i, customerId] of CUSTOMERS.entries()) await rated.subscription({ customerId, planKey: "pro", ...JAN, revision: 1 + i * 0 });
    await eventually(async () => {
      const r = await client.check({ customerId: CUSTOMERS[CUSTOMERS.length - 1]!, meterKey: "tokens" }).catch(() => undefined);
      return r !== undefined && r.reason !== pb.DenyReason.NO_SUBSCRIPTION;
    }, "plans and subscriptions");
  }, 30_000);

  // Tests that move the clock put it back, even when they fail.
  afterEach(() => clock.set("2026-01-10T00:00:00Z"));

  afterAll(async () => {
    test?.close();
    await running?.stop();
    await env?.close();
  });

  async function capUnits(customerId: string, meterKey: string, value: string, kind = pb.LimitKind.HARD_CAP, alerts: string[] = []) {
    const { limit } = await client.setLimit({
      limit: {
        scope: { case: "customerId", value: customerId },
        meterKey,
        kind,
        measure: pb.LimitMeasure.UNITS,
        value,
        alerts: alerts.map((a) => ({ threshold: a.startsWith("=") ? { case: "absolute", value: a.slice(1) } : { case: "percent", value: a } })),
      },
    });
    return limit!;
  }

  async function usageReaches(customerId: string, meterKey: string, units: string) {
    await eventually(async () => (await client.check({ customerId, meterKey })).currentUsage === units, `${customerId} usage ${units}`);
  }

  async function rpcError(call: Promise<unknown>): Promise<ConnectError> {
    try {
      await call;
    } catch (err) {
      return ConnectError.from(err);
    }
    throw new Error("expected the call to fail");
  }

  /** Decoded events published on a limits subject so far. */
  async function published<D extends DescMessage>(subject: string, schema: D): Promise<MessageShape<D>[]> {
    const name = env.bus.streamName("limits");
    const info = await env.bus.manager.streams.info(name);
    const out: MessageShape<D>[] = [];
    for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
      const msg = await env.bus.manager.streams.getMessage(name, { seq }).catch(() => undefined);
      if (msg && msg.subject === env.bus.subject(subject)) out.push(fromBinary(schema, msg.data));
    }
    return out;
  }

  describe("limits", () => {
    it("rejects bad input with INVALID_ARGUMENT naming every field, and stores nothing", async () => {
      const err = await rpcError(
        client.setLimit({
          limit: { scope: { case: "planKey", value: "pro" }, meterKey: "nope", kind: pb.LimitKind.HARD_CAP, measure: pb.LimitMeasure.SPEND, value: "-1", currency: "EUR" },
        }),
      );
      expect(err.code).toBe(Code.InvalidArgument);
      for (const field of ["limit.meter_key", "limit.value", "limit.currency"]) expect(err.rawMessage).toContain(field);
      expect((await client.getLimits({ scope: { case: "planKey", value: "pro" } })).limits).toEqual([]);
      const unknownPlan = await rpcError(
        client.setLimit({ limit: { scope: { case: "planKey", value: "ghost" }, meterKey: "tokens", kind: pb.LimitKind.HARD_CAP, measure: pb.LimitMeasure.UNITS, value: "1" } }),
      );
      expect(unknownPlan.rawMessage).toContain("limit.plan_key");
    });

    it("a customer override beats the plan default for the same meter and measure", async () => {
      const def = await client.setLimit({
        limit: { scope: { case: "planKey", value: "pro" }, meterKey: "images", kind: pb.LimitKind.HARD_CAP, measure: pb.LimitMeasure.UNITS, value: "1000" },
      });
      const override = await capUnits("c-plan", "images", "5");
      const effective = (await client.getLimits({ scope: { case: "customerId", value: "c-plan" } })).limits;
      expect(effective.filter((l) => l.meterKey === "images").map((l) => [l.id, l.value])).toEqual([[override.id, "5"]]);
      expect((await client.check({ customerId: "c-plan", meterKey: "images", quantity: "6" })).reason).toBe(pb.DenyReason.HARD_CAP_EXCEEDED);
      // Another customer of the plan gets the default.
      expect((await client.check({ customerId: "c-cap", meterKey: "images", quantity: "6" })).limit).toBe("1000");
      await client.deleteLimit({ id: override.id });
      expect((await client.check({ customerId: "c-plan", meterKey: "images", quantity: "6" })).limitId).toBe(def.limit!.id);
      await client.deleteLimit({ id: def.limit!.id });
    });

    it("enforces scopes: Check needs ingest, SetLimit admin", async () => {
      const reader = createTestClient(pb.Limits, running.address, TEST_KEYS.read);
      const ingest = createTestClient(pb.Limits, running.address, TEST_KEYS.ingest);
      try {
        expect((await rpcError(reader.client.check({ customerId: "c-cap", meterKey: "tokens" }))).code).toBe(Code.PermissionDenied);
        expect((await ingest.client.check({ customerId: "c-cap", meterKey: "tokens" })).allowed).toBe(true);
        expect((await rpcError(ingest.client.setLimit({ limit: {} }))).code).toBe(Code.PermissionDenied);
      } finally {
        reader.close();
        ingest.close();
      }
    });

    it("denies customers without an active subscription and rejects unknown meters and negative quantities", async () => {
      expect((await client.check({ customerId: "stranger", meterKey: "tokens", quantity: "1" })).reason).toBe(pb.DenyReason.NO_SUBSCRIPTION);
      const err = await rpcError(client.check({ customerId: "c-cap", meterKey: "nope", quantity: "-2" }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toContain("meter_key");
      expect(err.rawMessage).toContain("quantity");
    });
  });

  describe("Check at the hard cap", () => {
    it("allows usage up to the cap exactly and denies a hair beyond", async () => {
      const limit = await capUnits("c-cap", "tokens", "100");
      await rated.rated([{ customerId: "c-cap", meterKey: "tokens", quantity: "90", amount: "0.9", sequence: 1, ...JAN }]);
      await usageReaches("c-cap", "tokens", "90");
      const ok = await client.check({ customerId: "c-cap", meterKey: "tokens", quantity: "10" });
      expect([ok.allowed, ok.limit, ok.currentUsage, ok.reserved, ok.remaining, ok.limitId]).toEqual([true, "100", "90", "0", "10", limit.id]);
      const over = await client.check({ customerId: "c-cap", meterKey: "tokens", quantity: "10.000000000001" });
      expect([over.allowed, over.reason]).toEqual([false, pb.DenyReason.HARD_CAP_EXCEEDED]);

      await rated.rated([{ customerId: "c-cap", meterKey: "tokens", quantity: "100", amount: "1", sequence: 2, ...JAN }]);
      await usageReaches("c-cap", "tokens", "100");
      expect((await client.check({ customerId: "c-cap", meterKey: "tokens", quantity: "0" })).allowed).toBe(true);
      expect((await client.check({ customerId: "c-cap", meterKey: "tokens", quantity: "0.000000000001" })).allowed).toBe(false);
    });
  });

  describe("Check for a soft-limit-only customer", () => {
    it("reports the soft limit's position: limit, usage, holds and remaining (a caller can show 80% used)", async () => {
      const soft = await capUnits("c-soft", "tokens", "1000", pb.LimitKind.SOFT_LIMIT);
      await rated.rated([{ customerId: "c-soft", meterKey: "tokens", quantity: "800", amount: "8", sequence: 1, ...JAN }]);
      // 800 + 201 > 1000: the usage has arrived once the soft limit shows as exceeded.
      await eventually(async () => (await client.check({ customerId: "c-soft", meterKey: "tokens", quantity: "201" })).softLimitExceeded, "usage 800");
      const held = await client.check({ customerId: "c-soft", meterKey: "tokens", quantity: "50", reserve: true });
      expect([held.allowed, held.reservationId !== ""]).toEqual([true, true]);
      const r = await client.check({ customerId: "c-soft", meterKey: "tokens", quantity: "100" });
      // 1000 − 800 used − 50 held = 150 remaining; 800 + 50 + 100 ≤ 1000, so not exceeded.
      expect([r.allowed, r.softLimitExceeded, r.limit, r.currentUsage, r.reserved, r.remaining, r.limitId, r.measure]).toEqual([
        true, false, "1000", "800", "50", "150", soft.id, pb.LimitMeasure.UNITS,
      ]);
    });
  });

  describe("Check at a total SPEND cap", () => {
    it("prices the checked quantity with the plan and counts the spend of every meter", async () => {
      const { limit } = await client.setLimit({
        limit: { scope: { case: "customerId", value: "c-spend" }, kind: pb.LimitKind.HARD_CAP, measure: pb.LimitMeasure.SPEND, value: "1", currency: "USD", alerts: [{ threshold: { case: "percent", value: "90" } }] },
      });
      // 0.45 of tokens + 0.5 of images = 0.95 spent
      await rated.rated([
        { customerId: "c-spend", meterKey: "tokens", quantity: "45", amount: "0.45", sequence: 1, ...JAN },
        { customerId: "c-spend", meterKey: "images", quantity: "1", amount: "0.5", sequence: 1, ...JAN },
      ]);
      await eventually(async () => (await client.check({ customerId: "c-spend", meterKey: "tokens" })).currentUsage === "0.95", "spend counted");
      const fits = await client.check({ customerId: "c-spend", meterKey: "tokens", quantity: "5", reserve: true }); // 5 × 0.01 = 0.05
      expect([fits.allowed, fits.cost, fits.limitId, fits.measure, fits.currency, fits.remaining]).toEqual([true, "0.05", limit!.id, pb.LimitMeasure.SPEND, "USD", "0.05"]);
      const over = await client.check({ customerId: "c-spend", meterKey: "images", quantity: "1" }); // 0.5 more, 0.05 already held
      expect([over.allowed, over.reason, over.reserved]).toEqual([false, pb.DenyReason.HARD_CAP_EXCEEDED, "0.05"]);
      const alerts = (await client.listTriggeredAlerts({ customerId: "c-spend" })).alerts;
      expect(alerts.map((a) => [a.thresholdValue, a.observedValue, a.currency])).toEqual([["0.9", "0.95", "USD"]]);
    });

    it("rejects foreign page tokens and negative page sizes, and unknown limit ids", async () => {
      const err = await rpcError(client.listTriggeredAlerts({ customerId: "c-spend", pageToken: "not-a-token", pageSize: -1 }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toContain("page_token");
      expect(err.rawMessage).toContain("page_size");
      expect((await rpcError(client.deleteLimit({ id: "lim_nope" }))).code).toBe(Code.NotFound);
    });
  });

  describe("plain Check's position cache", () => {
    it("a plain Check may answer from a position up to maxAgeMs old; a reserving Check always decides on Postgres", async () => {
      await capUnits("c-cache", "tokens", "10");
      expect((await client.check({ customerId: "c-cache", meterKey: "tokens", quantity: "10" })).allowed).toBe(true);
      // Another instance (own pool, own cache) holds 8 units: this instance is not told.
      const otherPool = createPool(running.deps.config.databaseUrl, "limits", { max: 2 });
      try {
        const other = createLimitsApp({ ...running.deps, pool: otherPool });
        expect((await other.checks.check({ customerId: "c-cache", meterKey: "tokens", quantity: "8", reserve: true, reservationTtlMs: undefined, idempotencyKey: "" })).allowed).toBe(true);
      } finally {
        await otherPool.end();
      }
      // Within the bound (the clock has not moved) the advisory answer is the cached one…
      expect((await client.check({ customerId: "c-cache", meterKey: "tokens", quantity: "10" })).allowed).toBe(true);
      // …a reserving Check never uses it: no overshoot.
      const reserving = await client.check({ customerId: "c-cache", meterKey: "tokens", quantity: "10", reserve: true });
      expect(reserving.allowed).toBe(false);
      expect(reserving.reason).toBe(pb.DenyReason.HARD_CAP_EXCEEDED);
      expect(reserving.reserved).toBe("8");
      // Once maxAgeMs old, the position is read again.
      clock.advance(100);
      const plain = await client.check({ customerId: "c-cache", meterKey: "tokens", quantity: "3" });
      expect(plain.allowed).toBe(false);
      expect(plain.reserved).toBe("8");
    });
    it("a Check priced by a SPEND limit reads its position and the meter's quantities in one statement", async () => {
      const spendCap = () =>
        client.setLimit({
          limit: { scope: { case: "customerId", value: "c-cache" }, meterKey: "tokens", kind: pb.LimitKind.HARD_CAP, measure: pb.LimitMeasure.SPEND, value: "1000", currency: "USD" },
        });
      const { limit } = await spendCap();
      await client.check({ customerId: "c-cache", meterKey: "tokens", quantity: "1" }); // the plan's pricers, once
      await client.setLimit({ limit: { ...limit!, value: "999" } }); // a limit write: cached positions are dropped
      const pool = running.deps.pool;
      const query = pool.query.bind(pool);
      // Only this customer's statements count: the service's background work (sweeper, outbox relay,
      // metrics) may use the pool meanwhile, more so on a busy machine.
      let statements = 0;
      pool.query = ((...args: Parameters<typeof query>) => {
        const [first, second] = args as unknown[];
        const values = (first as { values?: unknown[] })?.values ?? second;
        if (JSON.stringify(values ?? []).includes("c-cache")) statements++;
        return query(...args);
      }) as typeof pool.query;
      try {
        const r = await client.check({ customerId: "c-cache", meterKey: "tokens", quantity: "100" });
        expect(r.cost).toBe("1"); // 100 × 0.01
        expect(statements).toBe(1);
      } finally {
        pool.query = query;
        await client.deleteLimit({ id: limit!.id });
      }
    });
  });

  describe("reservations", () => {
    it("50 concurrent callers asking for the last 10 units get exactly 10", async () => {
      await capUnits("c-race", "tokens", "100");
      await rated.rated([{ customerId: "c-race", meterKey: "tokens", quantity: "90", amount: "0.9", sequence: 1, ...JAN }]);
      await usageReaches("c-race", "tokens", "90");

      const answers = await Promise.all(
        Array.from({ length: 50 }, () => client.check({ customerId: "c-race", meterKey: "tokens", quantity: "1", reserve: true })),
      );
      const granted = answers.filter((a) => a.allowed);
      expect(granted).toHaveLength(10);
      expect(new Set(granted.map((a) => a.reservationId)).size).toBe(10);
      expect(answers.filter((a) => !a.allowed).every((a) => a.reason === pb.DenyReason.HARD_CAP_EXCEEDED && a.reservationId === "")).toBe(true);
      const after = await client.check({ customerId: "c-race", meterKey: "tokens", quantity: "1" });
      expect([after.allowed, after.reserved, after.remaining]).toEqual([false, "10", "0"]);

      // Released holds free the room again; then 50 callers for 10 units each: one wins.
      await Promise.all(granted.map((g) => client.releaseReservation({ reservationId: g.reservationId })));
      const big = await Promise.all(
        Array.from({ length: 50 }, () => client.check({ customerId: "c-race", meterKey: "tokens", quantity: "10", reserve: true })),
      );
      const winners = big.filter((a) => a.allowed);
      expect(winners).toHaveLength(1);
      await client.releaseReservation({ reservationId: winners[0]!.reservationId });
    }, 30_000);

    it("expired holds stop counting at once; the sweeper marks and later deletes them", async () => {
      const r = await client.check({ customerId: "c-race", meterKey: "tokens", quantity: "10", reserve: true, reservationTtl: durationFromMs(30_000) });
      expect(r.allowed).toBe(true);
      expect((await client.check({ customerId: "c-race", meterKey: "tokens", quantity: "1" })).allowed).toBe(false);
      clock.advance(30_000);
      expect((await client.check({ customerId: "c-race", meterKey: "tokens", quantity: "10" })).allowed).toBe(true);
      await app.sweep();
      expect((await client.releaseReservation({ reservationId: r.reservationId })).reservation?.status).toBe(pb.ReservationStatus.EXPIRED);
      clock.advance(25 * 3_600_000);
      await app.sweep();
      expect((await rpcError(client.releaseReservation({ reservationId: r.reservationId }))).code).toBe(Code.NotFound);
      clock.set("2026-01-10T00:00:00Z");
    });

    it("a retried Check with the same idempotency key holds once", async () => {
      await capUnits("c-idem", "tokens", "100");
      const first = await client.check({ customerId: "c-idem", meterKey: "tokens", quantity: "30", reserve: true, idempotencyKey: "req-1" });
      const retries = await Promise.all([1, 2, 3].map(() => client.check({ customerId: "c-idem", meterKey: "tokens", quantity: "30", reserve: true, idempotencyKey: "req-1" })));
      expect(retries.map((r) => r.reservationId)).toEqual([first.reservationId, first.reservationId, first.reservationId]);
      expect((await client.check({ customerId: "c-idem", meterKey: "tokens" })).reserved).toBe("30");
      // Quantity 0 reports the position and holds nothing, even with reserve.
      const report = await client.check({ customerId: "c-idem", meterKey: "tokens", quantity: "0", reserve: true });
      expect([report.allowed, report.reservationId, report.reserved]).toEqual([true, "", "30"]);
    });

    it("a committed hold is settled by the rated usage that covers it", async () => {
      await capUnits("c-settle", "tokens", "100");
      const r = await client.check({ customerId: "c-settle", meterKey: "tokens", quantity: "20", reserve: true });
      const committed = await client.commitReservation({ reservationId: r.reservationId, actualQuantity: "15" });
      expect([committed.reservation?.status, committed.reservation?.quantity]).toEqual([pb.ReservationStatus.COMMITTED, "15"]);
      expect((await client.check({ customerId: "c-settle", meterKey: "tokens" })).reserved).toBe("15");

      await rated.rated([{ customerId: "c-settle", meterKey: "tokens", quantity: "15", amount: "0.15", sequence: 1, ...JAN }]);
      await usageReaches("c-settle", "tokens", "15");
      const now = await client.check({ customerId: "c-settle", meterKey: "tokens" });
      expect([now.currentUsage, now.reserved, now.remaining]).toEqual(["15", "0", "85"]);
      expect((await client.releaseReservation({ reservationId: r.reservationId })).reservation?.status).toBe(pb.ReservationStatus.SETTLED);
      expect((await rpcError(client.commitReservation({ reservationId: r.reservationId, actualQuantity: "1" }))).code).toBe(Code.FailedPrecondition);
    });
  });

  describe("alerts", () => {
    it("fire once per threshold per period, also under redelivery, and re-arm in the next period", async () => {
      await capUnits("c-alert", "tokens", "1000", pb.LimitKind.SOFT_LIMIT, ["50", "80", "=900"]);
      const amount = (quantity: string, sequence: number, period = JAN) => ({ customerId: "c-alert", meterKey: "tokens", quantity, amount: "0", sequence, ...period });
      const id = await rated.rated([amount("850", 1)]);
      await eventually(async () => (await client.listTriggeredAlerts({ customerId: "c-alert" })).alerts.length === 2, "two alerts");
      // Redelivery (a new NATS message with the same snapshot) and a later snapshot at the same level fire nothing new.
      await rated.rated([amount("850", 1)], `${id}-again`);
      await rated.rated([amount("850", 2)]);
      await rated.rated([amount("950", 3)]);
      await eventually(async () => (await client.listTriggeredAlerts({ customerId: "c-alert" })).alerts.length === 3, "third alert");
      const jan = (await client.listTriggeredAlerts({ customerId: "c-alert" })).alerts;
      expect(jan.map((a) => a.thresholdValue)).toEqual(["900", "800", "500"]); // newest first
      expect(jan[1]!.observedValue).toBe("850");

      clock.set("2026-02-02T00:00:00Z");
      await rated.subscription({ customerId: "c-alert", planKey: "pro", ...FEB, revision: 2 });
      await rated.rated([amount("600", 1, FEB)]);
      await eventually(async () => (await client.listTriggeredAlerts({ customerId: "c-alert" })).alerts.length === 4, "re-armed alert");
      const newest = (await client.listTriggeredAlerts({ customerId: "c-alert", pageSize: 1 })).alerts[0]!;
      expect([newest.thresholdValue, newest.period?.start?.seconds]).toEqual(["500", timestampFromDate(new Date(FEB.periodStart)).seconds]);
      await eventually(async () => (await published(SUBJECTS.limits.alertTriggered, pb.AlertTriggeredSchema)).filter((e) => e.alert?.customerId === "c-alert").length === 4, "4 alert events");
      clock.set("2026-01-10T00:00:00Z");
    });
  });

  describe("credits", () => {
    const money = (amount: string, currency = "USD") => ({ currency, amount });
    const at = (iso: string) => timestampFromDate(new Date(iso));
    const spend = (customerId: string, amount: string, sequence: number) => rated.rated([{ customerId, meterKey: "tokens", quantity: "0", amount, sequence, ...JAN }]);
    const balanceOf = async (customerId: string) => (await client.getBalance({ customerId })).balance!;
    async function ledgerOf(customerId: string) {
      const entries: pb.LedgerEntry[] = [];
      let pageToken = "";
      do {
        const page = await client.listLedgerEntries({ customerId, pageSize: 2, pageToken });
        entries.push(...page.entries);
        pageToken = page.nextPageToken;
      } while (pageToken);
      return entries;
    }
    const sum = (entries: pb.LedgerEntry[]) => entries.reduce((s, e) => s.plus(e.amount), new Decimal(0)).toFixed();

    it("burns in order (priority, soonest expiry, oldest), never twice, books expiry, gives back on a drop", async () => {
      const grant = (key: string, amount: string, priority: number, extra: Partial<{ effectiveTime: ReturnType<typeof at>; expireTime: ReturnType<typeof at> }> = {}) =>
        client.grantCredits({ customerId: "c-credit", amount: money(amount), priority, idempotencyKey: key, ...extra });
      const a = (await grant("a", "10", 1)).grant!;
      const b = (await grant("b", "5", 0, { expireTime: at("2026-01-20T00:00:00Z") })).grant!;
      const c = (await grant("c", "20", 1, { effectiveTime: at("2026-01-15T00:00:00Z") })).grant!;
      expect(c.status).toBe(pb.GrantStatus.PENDING);
      expect((await balanceOf("c-credit")).balance?.amount).toBe("15");

      await spend("c-credit", "3", 1); // 3 from B (priority 0)
      await spend("c-credit", "9", 2); // +6: B's last 2, then 4 from A
      await eventually(async () => (await balanceOf("c-credit")).balance?.amount === "6", "burns applied"); // 15 − 9
      await spend("c-credit", "9", 2); // redelivered
      await spend("c-credit", "3", 1); // older
      await spend("c-credit", "8", 3); // −1: a drop gives 1 back to A (reverse burn order)
      await eventually(async () => (await balanceOf("c-credit")).balance?.amount === "7", "give-back applied");
      const burns = (await ledgerOf("c-credit")).filter((e) => e.kind === pb.LedgerEntryKind.BURN).reverse();
      expect(burns.map((e) => [e.grantId, e.amount])).toEqual([
        [b.id, "-3"],
        [b.id, "-2"],
        [a.id, "-4"],
        [a.id, "1"],
      ]);

      clock.set("2026-01-16T00:00:00Z"); // C becomes effective
      expect((await balanceOf("c-credit")).balance?.amount).toBe("27"); // 7 + 20
      const d = (await grant("d", "4", 0, { expireTime: at("2026-01-17T00:00:00Z") })).grant!;
      clock.set("2026-01-18T00:00:00Z"); // D expires unused
      await app.sweep();
      const entries = await ledgerOf("c-credit");
      expect(entries.find((e) => e.kind === pb.LedgerEntryKind.EXPIRY)).toMatchObject({ grantId: d.id, amount: "-4", balanceAfter: "27" });
      expect(sum(entries)).toBe("27");
      expect((await balanceOf("c-credit")).grants.map((g) => g.grantId)).toEqual([a.id, c.id]); // B depleted, D expired
      clock.set("2026-01-10T00:00:00Z");
    });

    it("never credits a grant twice and rejects bad grants naming the field", async () => {
      const req = { customerId: "c-neg", amount: money(""), credits: "500", creditRate: "0.01", idempotencyKey: "promo-1" };
      const first = (await client.grantCredits(req)).grant!;
      const again = (await client.grantCredits(req)).grant!;
      expect([again.id, first.amount?.amount]).toEqual([first.id, "5"]);
      expect((await rpcError(client.grantCredits({ ...req, credits: "600" }))).code).toBe(Code.AlreadyExists);
      const bad = await rpcError(
        client.grantCredits({
          customerId: "c-neg",
          amount: money("5", "EUR"),
          idempotencyKey: "promo-2",
          effectiveTime: at("2026-01-12T00:00:00Z"),
          expireTime: at("2026-01-11T00:00:00Z"),
        }),
      );
      expect(bad.code).toBe(Code.InvalidArgument);
      expect(bad.rawMessage).toContain("amount.currency");
      expect(bad.rawMessage).toContain("expire_time");
      expect((await rpcError(client.grantCredits({ ...req, customerId: "stranger", idempotencyKey: "x" }))).rawMessage).toContain("customer_id");
      expect((await balanceOf("c-neg")).balance?.amount).toBe("5");
      expect((await balanceOf("nobody")).balance?.amount).toBe("0");
      const voided = (await client.voidGrant({ grantId: first.id, reason: "mistake" })).grant!;
      expect(voided.status).toBe(pb.GrantStatus.VOIDED);
      expect((await client.voidGrant({ grantId: first.id })).grant?.voidReason).toBe("mistake");
      expect((await rpcError(client.voidGrant({ grantId: "", reason: "x".repeat(1_025) }))).rawMessage).toMatch(/grant_id: is required; reason: at most 1024 characters/);
      expect((await ledgerOf("c-neg")).map((e) => [e.kind, e.amount])).toEqual([
        [pb.LedgerEntryKind.VOID, "-5"],
        [pb.LedgerEntryKind.GRANT, "5"],
      ]);
    });

    it("prepaid-only: denies once credits are exhausted, publishes depletion once, and a top-up lifts it", async () => {
      await client.setCustomerBilling({ customerId: "c-prepaid", prepaidOnly: true });
      await capUnits("c-prepaid", "tokens", "1000000"); // only so that Check reports the counted usage
      expect((await client.check({ customerId: "c-prepaid", meterKey: "tokens", quantity: "1" })).reason).toBe(pb.DenyReason.CREDITS_EXHAUSTED);
      await client.grantCredits({ customerId: "c-prepaid", amount: money("1"), idempotencyKey: "p1" });
      const fits = await client.check({ customerId: "c-prepaid", meterKey: "tokens", quantity: "100" }); // 100 × 0.01 = 1
      expect([fits.allowed, fits.cost, fits.creditsAvailable]).toEqual([true, "1", "1"]);
      expect((await client.check({ customerId: "c-prepaid", meterKey: "tokens", quantity: "101" })).reason).toBe(pb.DenyReason.CREDITS_EXHAUSTED);
      const hold = await client.check({ customerId: "c-prepaid", meterKey: "tokens", quantity: "60", reserve: true });
      expect((await balanceOf("c-prepaid")).available?.amount).toBe("0.4");
      expect((await client.check({ customerId: "c-prepaid", meterKey: "tokens", quantity: "50" })).allowed).toBe(false);
      await client.releaseReservation({ reservationId: hold.reservationId });
      // Concurrent callers share the customer-wide credit: 30 ask for 0.1 each of the 1.00 → exactly 10 holds.
      const racing = await Promise.all(
        Array.from({ length: 30 }, () => client.check({ customerId: "c-prepaid", meterKey: "tokens", quantity: "10", reserve: true })),
      );
      const holds = racing.filter((r) => r.allowed);
      expect(holds).toHaveLength(10);
      expect(racing.filter((r) => !r.allowed).every((r) => r.reason === pb.DenyReason.CREDITS_EXHAUSTED)).toBe(true);
      expect((await balanceOf("c-prepaid")).available?.amount).toBe("0");
      await Promise.all(holds.map((h) => client.releaseReservation({ reservationId: h.reservationId })));

      await rated.rated([{ customerId: "c-prepaid", meterKey: "tokens", quantity: "100", amount: "1", sequence: 1, ...JAN }]);
      await eventually(async () => (await balanceOf("c-prepaid")).depleted, "depleted");
      expect((await client.check({ customerId: "c-prepaid", meterKey: "tokens", quantity: "1" })).reason).toBe(pb.DenyReason.CREDITS_EXHAUSTED);
      // Usage rated beyond the balance is overage: the balance stays at 0.
      await rated.rated([{ customerId: "c-prepaid", meterKey: "tokens", quantity: "150", amount: "1.5", sequence: 2, ...JAN }]);
      await usageReaches("c-prepaid", "tokens", "150");
      const depletedEvents = () => published(SUBJECTS.limits.creditsDepleted, pb.CreditsDepletedSchema).then((es) => es.filter((e) => e.customerId === "c-prepaid"));
      await eventually(async () => (await depletedEvents()).length === 1, "one depletion event");

      await client.grantCredits({ customerId: "c-prepaid", amount: money("2"), idempotencyKey: "p2" });
      const topped = await balanceOf("c-prepaid");
      expect([topped.balance?.amount, topped.depleted]).toEqual(["2", false]);
      expect((await client.check({ customerId: "c-prepaid", meterKey: "tokens", quantity: "1" })).allowed).toBe(true);
      await rated.rated([{ customerId: "c-prepaid", meterKey: "tokens", quantity: "400", amount: "4", sequence: 3, ...JAN }]);
      await eventually(async () => (await depletedEvents()).length === 2, "second depletion event");
      expect((await balanceOf("c-prepaid")).balance?.amount).toBe("0");
    }, 30_000);

    // DB-backed variant of the ledger property: random grants, burns, voids and expiries through the
    // service, then balance = Σ ledger ≥ 0 and every entry's balance_after ≥ 0.
    it("keeps balance equal to the ledger's sum and never below zero (property, DB-backed)", async () => {
      let run = 0;
      const op = fc.oneof(
        fc.record({ kind: fc.constant("grant" as const), cents: fc.integer({ min: 1, max: 5_000 }), priority: fc.integer({ min: 0, max: 2 }), days: fc.option(fc.integer({ min: 1, max: 5 })) }),
        fc.record({ kind: fc.constant("burn" as const), cents: fc.integer({ min: -300, max: 3_000 }) }),
        fc.record({ kind: fc.constant("void" as const), pick: fc.nat() }),
        fc.record({ kind: fc.constant("advance" as const), days: fc.integer({ min: 1, max: 3 }) }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), fc.boolean(), async (ops, prepaid) => {
          const customerId = `c-prop-${run++}`;
          clock.set("2026-01-02T00:00:00Z");
          await app.projector.applySubscriptionChanged(
            create(rating.SubscriptionChangedSchema, {
              subscription: { id: `sub_${customerId}`, customerId, planKey: "pro", planVersion: 1, status: rating.SubscriptionStatus.ACTIVE, revision: 1n, currentPeriod: { start: at(JAN.periodStart), end: at(JAN.periodEnd) } },
            }),
          );
          await app.credits.setPrepaidOnly(customerId, prepaid);
          const grants: string[] = [];
          let total = new Decimal(0);
          let seq = 0;
          for (const [i, o] of ops.entries()) {
            const now = clock.now();
            if (o.kind === "grant") {
              const g = await app.credits.grant({
                customerId,
                amount: { currency: "USD", amount: new Decimal(o.cents).div(100).toFixed() },
                credits: "",
                creditRate: "",
                priority: o.priority,
                effectiveTime: undefined,
                expireTime: o.days === null ? undefined : new Date(now.getTime() + o.days * 86_400_000),
                idempotencyKey: `g${i}`,
                description: "",
              });
              grants.push(g.grant.id);
            } else if (o.kind === "burn") {
              total = Decimal.max(0, total.plus(new Decimal(o.cents).div(100)));
              await app.projector.applyUsageRated(
                create(rating.UsageRatedSchema, {
                  amounts: [{ customerId, subscriptionId: `sub_${customerId}`, planKey: "pro", planVersion: 1, componentKey: "tokens", meterKey: "tokens", quantity: "0", amount: total.toFixed(), currency: "USD", sequence: BigInt(++seq), period: { start: at(JAN.periodStart), end: at(JAN.periodEnd) } }],
                }),
              );
            } else if (o.kind === "void" && grants.length > 0) {
              await app.credits.voidGrant(grants[o.pick % grants.length]!, "").catch((err: unknown) => {
                if (!(err instanceof Error && err.name === "FailedPreconditionError")) throw err; // voiding an EXPIRED grant
              });
            } else if (o.kind === "advance") {
              clock.advance(o.days * 86_400_000);
              await app.credits.catchUpDue();
            }
          }
          const balance = await app.credits.balance(customerId);
          const entries = await ledgerOf(customerId);
          expect(sum(entries)).toBe(balance.balance.toFixed());
          expect(balance.balance.gte(0)).toBe(true);
          expect(entries.every((e) => new Decimal(e.balanceAfter).gte(0))).toBe(true);
        }),
        { numRuns: 15 },
      );
      clock.set("2026-01-10T00:00:00Z");
    }, 60_000);
  });
});

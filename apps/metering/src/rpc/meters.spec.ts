import { fromBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { metering, SUBJECTS } from "@tally/contracts";
import { startService } from "@tally/platform";
import { createTestClient, TEST_KEYS } from "@tally/platform/testing";
import { createMeteringService } from "../metering-service";
import { eventually, failure, startMetering, streamMessages, ts, type MeterInit, type MeteringHarness } from "../testing/metering-harness";

const { COUNT, SUM, MAX, UNIQUE_COUNT, LATEST } = metering.Aggregation;

describe("meters", () => {
  let h: MeteringHarness;
  beforeAll(async () => {
    h = await startMetering();
  });
  afterAll(() => h.close());

  const tokens = (key: string, overrides: MeterInit = {}): MeterInit => ({
    key,
    eventType: `type.${key}`,
    aggregation: SUM,
    valueProperty: "tokens",
    groupBy: ["model"],
    filters: [{ property: "env", values: ["prod", "beta", "prod"] }],
    description: "Tokens per model",
    ...overrides,
  });

  async function published(subject: string) {
    return streamMessages(h.env, subject);
  }

  describe("CreateMeter and GetMeter", () => {
    it("creates a meter, returns it normalized and ACTIVE, and publishes MeterCreated", async () => {
      const created = (await h.admin.createMeter({ meter: tokens("create_1") })).meter!;
      expect(created).toMatchObject({ key: "create_1", aggregation: SUM, state: metering.MeterState.ACTIVE, groupBy: ["model"] });
      expect(created.filters.map((f) => [f.property, f.values])).toEqual([["env", ["beta", "prod"]]]);
      expect(timestampDate(created.createTime!)).toEqual(h.clock.now());
      expect(created.archiveTime).toBeUndefined();
      expect((await h.reader.getMeter({ key: "create_1" })).meter).toEqual(created);

      await eventually(async () => (await published(SUBJECTS.metering.meterCreated)).some((m) => m.msgId === "meter.created:create_1"));
      const message = (await published(SUBJECTS.metering.meterCreated)).find((m) => m.msgId === "meter.created:create_1")!;
      const event = fromBinary(metering.MeterCreatedSchema, message.data);
      expect(event.meta).toMatchObject({ id: "meter.created:create_1", source: "tally.metering", subject: SUBJECTS.metering.meterCreated });
      expect(event.meter?.key).toBe("create_1");
      expect(event.backfilledEventCount).toBe(0n);
    });

    it("returns an identical active meter unchanged, so provisioning can re-run", async () => {
      const first = (await h.admin.createMeter({ meter: tokens("create_2") })).meter!;
      h.clock.advance(1_000);
      const again = (await h.admin.createMeter({ meter: tokens("create_2", { filters: [{ property: "env", values: ["beta", "prod"] }] }) })).meter!;
      expect(again).toEqual(first);
    });

    it("refuses a different definition under a taken key", async () => {
      await h.admin.createMeter({ meter: tokens("create_3") });
      expect(await failure(h.admin.createMeter({ meter: tokens("create_3", { aggregation: MAX }) }))).toMatchObject({ code: Code.AlreadyExists, reason: "meter_key_taken" });
    });

    it.each<[string, MeterInit, string]>([
      ["a bad key", { key: "Tokens!" }, "meter.key"],
      ["no aggregation", { aggregation: metering.Aggregation.UNSPECIFIED }, "meter.aggregation"],
      ["an unknown aggregation", { aggregation: 42 as metering.Aggregation }, "meter.aggregation"],
      ["SUM without value_property", { valueProperty: "" }, "meter.value_property"],
      ["COUNT with a value_property", { aggregation: COUNT }, "meter.value_property"],
      ["a filter without values", { filters: [{ property: "env", values: [] }] }, "meter.filters[0].values"],
      ["allow_negative on UNIQUE_COUNT", { aggregation: UNIQUE_COUNT, allowNegative: true }, "meter.allow_negative"],
    ])("rejects %s as INVALID_ARGUMENT naming the field", async (_, overrides, field) => {
      const f = await failure(h.admin.createMeter({ meter: tokens("invalid_meter", overrides) }));
      expect(f).toMatchObject({ code: Code.InvalidArgument, field });
      expect(f.message).toContain(field);
      expect((await failure(h.reader.getMeter({ key: "invalid_meter" }))).code).toBe(Code.NotFound);
    });

    it("requires a meter, and a key to get", async () => {
      expect((await failure(h.admin.createMeter({}))).field).toBe("meter");
      expect(await failure(h.reader.getMeter({ key: "" }))).toMatchObject({ code: Code.InvalidArgument, field: "key" });
      expect(await failure(h.reader.getMeter({ key: "nope" }))).toMatchObject({ code: Code.NotFound, reason: "meter_not_found" });
    });

    it("allows at most 50 active meters per event type", async () => {
      for (let i = 0; i < 50; i++) await h.admin.createMeter({ meter: { key: `crowd_${i}`, eventType: "crowded", aggregation: COUNT } });
      expect(await failure(h.admin.createMeter({ meter: { key: "crowd_50", eventType: "crowded", aggregation: COUNT } }))).toMatchObject({
        code: Code.FailedPrecondition,
        reason: "too_many_meters",
      });
      await h.admin.archiveMeter({ key: "crowd_0" });
      await h.admin.createMeter({ meter: { key: "crowd_50", eventType: "crowded", aggregation: COUNT } });
    });

    it("is for admins: read and ingest keys are refused", async () => {
      expect((await failure(h.reader.createMeter({ meter: tokens("by_reader") }))).code).toBe(Code.PermissionDenied);
      expect((await failure(h.ingest.createMeter({ meter: tokens("by_ingest") }))).code).toBe(Code.PermissionDenied);
      expect((await failure(h.client().getMeter({ key: "create_1" }))).code).toBe(Code.Unauthenticated);
    });
  });

  describe("ListMeters", () => {
    beforeAll(async () => {
      for (const key of ["list_a", "list_b", "list_c", "list_d", "list_e"]) await h.admin.createMeter({ meter: { key, eventType: "list", aggregation: COUNT } });
      await h.admin.archiveMeter({ key: "list_c" });
    });

    async function all(includeArchived: boolean, pageSize: number): Promise<string[]> {
      const keys: string[] = [];
      let pageToken = "";
      do {
        const page = await h.reader.listMeters({ pageSize, pageToken, includeArchived });
        expect(page.meters.length).toBeLessThanOrEqual(pageSize);
        keys.push(...page.meters.map((m) => m.key));
        pageToken = page.nextPageToken;
      } while (pageToken);
      return keys.filter((k) => k.startsWith("list_"));
    }

    it("pages through meters ordered by key, active only unless asked", async () => {
      expect(await all(false, 2)).toEqual(["list_a", "list_b", "list_d", "list_e"]);
      expect(await all(true, 3)).toEqual(["list_a", "list_b", "list_c", "list_d", "list_e"]);
      expect((await h.reader.listMeters({})).meters.length).toBeGreaterThan(4);
    });

    it("rejects a negative page size, a malformed token, and a token from another listing", async () => {
      expect((await failure(h.reader.listMeters({ pageSize: -1 }))).field).toBe("page_size");
      expect((await failure(h.reader.listMeters({ pageToken: "garbage" }))).field).toBe("page_token");
      const page = await h.reader.listMeters({ pageSize: 1 });
      expect((await failure(h.reader.listMeters({ pageToken: page.nextPageToken, includeArchived: true }))).field).toBe("include_archived");
    });
  });

  describe("ArchiveMeter", () => {
    it("archives, is idempotent, publishes MeterArchived, and keeps the history queryable", async () => {
      await h.admin.createMeter({ meter: { key: "archive_me", eventType: "archive.test", aggregation: COUNT } });
      await h.ingest.record({ event: { id: "arch_1", customerId: "c1", eventType: "archive.test" } });
      h.clock.advance(1_000);
      const archived = (await h.admin.archiveMeter({ key: "archive_me" })).meter!;
      expect(archived.state).toBe(metering.MeterState.ARCHIVED);
      expect(timestampDate(archived.archiveTime!)).toEqual(h.clock.now());
      expect((await h.admin.archiveMeter({ key: "archive_me" })).meter).toEqual(archived);

      // It no longer matches new events: with no other meter for the type, the type is unknown.
      const f = await failure(h.ingest.record({ event: { id: "arch_2", customerId: "c1", eventType: "archive.test" } }));
      expect(f).toMatchObject({ code: Code.InvalidArgument, field: "event.event_type" });
      // …but its history stays queryable, and its key stays reserved.
      const rows = (await h.reader.queryUsage({ customerId: "c1", meterKey: "archive_me", from: ts("2026-03-15T00:00:00Z") })).rows;
      expect(rows.map((r) => r.value)).toEqual(["1"]);
      expect(await failure(h.admin.createMeter({ meter: { key: "archive_me", eventType: "archive.test", aggregation: COUNT } }))).toMatchObject({
        code: Code.AlreadyExists,
        reason: "meter_key_taken",
      });

      await eventually(async () => (await published(SUBJECTS.metering.meterArchived)).some((m) => m.msgId === "meter.archived:archive_me"));
      const message = (await published(SUBJECTS.metering.meterArchived)).find((m) => m.msgId === "meter.archived:archive_me")!;
      expect(fromBinary(metering.MeterArchivedSchema, message.data).meter?.state).toBe(metering.MeterState.ARCHIVED);
    });

    it("fails for an unknown key, and is for admins", async () => {
      expect((await failure(h.admin.archiveMeter({ key: "never_was" }))).code).toBe(Code.NotFound);
      expect((await failure(h.reader.archiveMeter({ key: "create_1" }))).code).toBe(Code.PermissionDenied);
    });
  });

  describe("a meter created after events of its type were recorded", () => {
    it("counts them (backfill from the raw events, in CreateMeter's transaction)", async () => {
      await h.admin.createMeter({ meter: { key: "bf_calls", eventType: "bf.llm", aggregation: COUNT } });
      const events = [
        { id: "bf_1", customerId: "c1", eventType: "bf.llm", time: ts("2026-03-14T10:00:00Z"), properties: { tokens: "10", model: "a", user: "ann" } },
        { id: "bf_2", customerId: "c1", eventType: "bf.llm", time: ts("2026-03-14T10:00:30Z"), properties: { tokens: "5", model: "b", user: "bob" } },
        { id: "bf_3", customerId: "c1", eventType: "bf.llm", time: ts("2026-03-15T11:00:00Z"), properties: { tokens: "2.5", model: "a", user: "ann" } },
        { id: "bf_4", customerId: "c2", eventType: "bf.llm", time: ts("2026-03-15T11:00:00Z"), properties: { tokens: "7", model: "a", user: "cy" } },
      ];
      await h.ingest.recordBatch({ events });

      const sum = (await h.admin.createMeter({ meter: { key: "bf_tokens", eventType: "bf.llm", aggregation: SUM, valueProperty: "tokens", groupBy: ["model"] } })).meter!;
      await h.admin.createMeter({ meter: { key: "bf_users", eventType: "bf.llm", aggregation: UNIQUE_COUNT, valueProperty: "user" } });
      await h.admin.createMeter({ meter: { key: "bf_latest", eventType: "bf.llm", aggregation: LATEST, valueProperty: "tokens" } });
      await h.admin.createMeter({ meter: { key: "bf_model_a", eventType: "bf.llm", aggregation: COUNT, filters: [{ property: "model", values: ["a"] }] } });
      expect(sum.state).toBe(metering.MeterState.ACTIVE);

      const q = async (meterKey: string, groupBy: string[] = []) =>
        (await h.reader.queryUsage({ customerId: "c1", meterKey, from: ts("2026-03-01T00:00:00Z"), groupBy })).rows.map((r) => [r.group, r.value]);
      expect(await q("bf_tokens", ["model"])).toEqual([[{ model: "a" }, "12.5"], [{ model: "b" }, "5"]]); // 10 + 2.5; 5
      expect(await q("bf_users")).toEqual([[{}, "2"]]);
      expect(await q("bf_latest")).toEqual([[{}, "2.5"]]);
      expect(await q("bf_model_a")).toEqual([[{}, "2"]]);

      // Events recorded afterwards are counted once more each, as usual.
      await h.ingest.record({ event: { id: "bf_5", customerId: "c1", eventType: "bf.llm", properties: { tokens: "1", model: "b", user: "dan" } } });
      expect(await q("bf_tokens", ["model"])).toEqual([[{ model: "a" }, "12.5"], [{ model: "b" }, "6"]]);

      await eventually(async () => (await published(SUBJECTS.metering.meterCreated)).some((m) => m.msgId === "meter.created:bf_tokens"));
      const created = (await published(SUBJECTS.metering.meterCreated)).find((m) => m.msgId === "meter.created:bf_tokens")!;
      expect(fromBinary(metering.MeterCreatedSchema, created.data).backfilledEventCount).toBe(4n);
    });

    it("leaves out events older than the backfill window", async () => {
      await h.admin.createMeter({ meter: { key: "old_calls", eventType: "old.llm", aggregation: COUNT } });
      await h.ingest.record({ event: { id: "old_1", customerId: "c1", eventType: "old.llm", time: ts("2026-03-15T11:00:00Z"), properties: { n: "1" } } });
      await h.ingest.record({ event: { id: "old_2", customerId: "c1", eventType: "old.llm", time: ts("2026-03-15T11:59:00Z"), properties: { n: "2" } } });
      h.clock.set("2026-04-19T11:30:00Z"); // 35 days after 11:30: old_1 is out of the window, old_2 still in
      try {
        await h.admin.createMeter({ meter: { key: "old_sum", eventType: "old.llm", aggregation: SUM, valueProperty: "n" } });
        const rows = (await h.reader.queryUsage({ customerId: "c1", meterKey: "old_sum", from: ts("2026-03-01T00:00:00Z") })).rows;
        expect(rows.map((r) => r.value)).toEqual(["2"]);
      } finally {
        h.clock.set("2026-03-15T12:00:00Z");
      }
    });

    it("refuses to create a meter that cannot read recorded events (no silent zero), and names them", async () => {
      await h.admin.createMeter({ meter: { key: "bad_calls", eventType: "bad.llm", aggregation: COUNT } });
      await h.ingest.recordBatch({
        events: [
          { id: "bad_1", customerId: "c1", eventType: "bad.llm", properties: { tokens: "3", env: "prod" } },
          { id: "bad_2", customerId: "c1", eventType: "bad.llm", properties: { env: "test" } },
        ],
      });
      const f = await failure(h.admin.createMeter({ meter: { key: "bad_tokens", eventType: "bad.llm", aggregation: SUM, valueProperty: "tokens" } }));
      expect(f).toMatchObject({ code: Code.FailedPrecondition, reason: "backfill_invalid_events" });
      expect(f.message).toContain('event "bad_2".properties[tokens]');
      expect((await failure(h.reader.getMeter({ key: "bad_tokens" }))).code).toBe(Code.NotFound);
      // With a filter that leaves the unreadable event out, it works.
      await h.admin.createMeter({ meter: { key: "bad_tokens", eventType: "bad.llm", aggregation: SUM, valueProperty: "tokens", filters: [{ property: "env", values: ["prod"] }] } });
      const rows = (await h.reader.queryUsage({ customerId: "c1", meterKey: "bad_tokens", from: ts("2026-03-15T00:00:00Z") })).rows;
      expect(rows.map((r) => r.value)).toEqual(["3"]);
    });
  });

  describe("several instances", () => {
    it("accept an event type as soon as its meter exists, and stop when it is archived, whichever instance changed it", async () => {
      const second = await startService(createMeteringService(), h.env.config("metering"), { clock: h.clock });
      const other = createTestClient(metering.Meter, second.address, TEST_KEYS.ingest);
      try {
        const record = (id: string) => other.client.record({ event: { id, customerId: "c1", eventType: "multi.llm" } });
        expect((await failure(record("multi_0"))).field).toBe("event.event_type");
        await h.admin.createMeter({ meter: { key: "multi_calls", eventType: "multi.llm", aggregation: COUNT } });
        expect((await record("multi_1")).result?.status).toBe(metering.EventStatus.ACCEPTED);
        await h.admin.archiveMeter({ key: "multi_calls" });
        expect((await failure(record("multi_2"))).field).toBe("event.event_type");
      } finally {
        other.close();
        await second.stop();
      }
    });
  });
});

import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { metering } from "@tally/contracts";
import { Decimal } from "@tally/pricing";
import { startMetering, type EventInit, type MeteringHarness } from "../testing/metering-harness";

const { COUNT, SUM, MAX, UNIQUE_COUNT, LATEST } = metering.Aggregation;
const { NONE, HOUR } = metering.WindowSize;
const BASE = Date.parse("2026-03-10T10:57:00Z");

/** A small deterministic generator, so a failure names the range that broke. */
function lcg(seed: number) {
  let s = seed;
  return (n: number) => {
    s = (s * 1_103_515_245 + 12_345) % 2_147_483_648;
    return s % n;
  };
}

/**
 * QueryUsage at millisecond edges: whole minutes from rollups, partial edge minutes from raw
 * events. Every answer is compared with the same aggregate computed here from the events the
 * test recorded, over many random ranges, for every aggregation, with group_by, filters and
 * hourly windows; a duplicate id counts once and events recorded after a meter was archived do
 * not count.
 */
describe("Meter.QueryUsage over ranges that cut minutes", () => {
  let h: MeteringHarness;
  interface Sent {
    time: number;
    type: string;
    properties: Record<string, string>;
  }
  const sent: Sent[] = [];

  beforeAll(async () => {
    h = await startMetering({ now: "2026-03-10T12:00:00Z" });
    const meters = [
      { key: "calls", eventType: "llm", aggregation: COUNT },
      { key: "tokens", eventType: "llm", aggregation: SUM, valueProperty: "tokens", groupBy: ["model"], filters: [{ property: "env", values: ["prod"] }] },
      { key: "peak", eventType: "llm", aggregation: MAX, valueProperty: "tokens" },
      { key: "users", eventType: "llm", aggregation: UNIQUE_COUNT, valueProperty: "user" },
      { key: "last", eventType: "llm", aggregation: LATEST, valueProperty: "tokens" },
      { key: "archived", eventType: "llm", aggregation: COUNT },
    ];
    for (const meter of meters) await h.admin.createMeter({ meter });
    const next = lcg(7);
    const events: EventInit[] = [];
    for (let i = 0; i < 240; i++) {
      // Within four minutes around an hour boundary, at arbitrary milliseconds.
      const time = BASE + next(4 * 60_000);
      const properties = { tokens: `${next(1000)}.${next(1000)}`, model: ["a", "b"][next(2)]!, env: next(5) === 0 ? "dev" : "prod", user: `u${next(12)}` };
      events.push({ id: `e${i}`, customerId: "c1", eventType: "llm", time: timestampFromDate(new Date(time)), properties });
      sent.push({ time, type: "llm", properties });
    }
    events.push({ ...events[3]!, customerId: "c1" }); // the same event again: a duplicate
    events.push({ id: "other", customerId: "c2", eventType: "llm", time: timestampFromDate(new Date(BASE + 90_000)), properties: { tokens: "5", model: "a", env: "prod", user: "x" } });
    const res = await h.ingest.recordBatch({ events });
    expect([res.acceptedCount, res.duplicateCount]).toEqual([241, 1]);
    await h.admin.archiveMeter({ key: "archived" });
    h.clock.set("2026-03-10T12:00:01Z");
    const after = await h.ingest.record({ event: { id: "after-archive", customerId: "c1", eventType: "llm", time: timestampFromDate(new Date(BASE + 61_234)), properties: { tokens: "1", model: "a", env: "prod", user: "late" } } });
    expect(after.result?.status).toBe(metering.EventStatus.ACCEPTED);
    sent.push({ time: BASE + 61_234, type: "llm-after-archive", properties: { tokens: "1", model: "a", env: "prod", user: "late" } });
  });
  afterAll(() => h.close());

  /** The aggregate of [from, to) computed from what was sent. */
  function expected(meterKey: string, from: number, to: number): Map<string, string> {
    const inRange = sent.filter((e) => e.time >= from && e.time < to && (e.type === "llm" || meterKey !== "archived"));
    const out = new Map<string, string>();
    if (inRange.length === 0) return out;
    const dec = (e: Sent) => new Decimal(e.properties.tokens!);
    switch (meterKey) {
      case "calls":
      case "archived":
        out.set("", String(inRange.length));
        break;
      case "tokens":
        for (const e of inRange.filter((x) => x.properties.env === "prod")) out.set(e.properties.model!, new Decimal(out.get(e.properties.model!) ?? 0).plus(dec(e)).toFixed());
        break;
      case "peak":
        out.set("", Decimal.max(...inRange.map(dec)).toFixed());
        break;
      case "users":
        out.set("", String(new Set(inRange.map((e) => e.properties.user)).size));
        break;
      case "last": {
        // Greatest event time; equal times do not occur in this data except the after-archive event, which is later recorded.
        const latest = [...inRange].sort((a, b) => a.time - b.time).pop()!;
        out.set("", dec(latest).toFixed());
        break;
      }
    }
    return out;
  }

  async function answered(meterKey: string, from: number, to: number): Promise<Map<string, string>> {
    const res = await h.reader.queryUsage({
      customerId: "c1",
      meterKey,
      from: timestampFromDate(new Date(from)),
      to: timestampFromDate(new Date(to)),
      windowSize: NONE,
      groupBy: meterKey === "tokens" ? ["model"] : [],
    });
    return new Map(res.rows.map((r) => [r.group.model ?? "", new Decimal(r.value).toFixed()]));
  }

  it("answers every aggregation exactly for random millisecond ranges", async () => {
    const next = lcg(11);
    for (let k = 0; k < 25; k++) {
      const from = BASE - 30_000 + next(4 * 60_000);
      const to = from + 1 + next(4 * 60_000);
      for (const meterKey of ["calls", "tokens", "peak", "users", "last", "archived"]) {
        const range = `${meterKey} [${new Date(from).toISOString()}, ${new Date(to).toISOString()})`;
        expect([range, await answered(meterKey, from, to)]).toEqual([range, expected(meterKey, from, to)]);
      }
    }
  });

  it("adds up: the answers for a range cut anywhere sum to the answer for the whole", async () => {
    const from = BASE + 1_413;
    const cut = BASE + 123_457;
    const to = BASE + 239_999;
    const [a, b, whole] = await Promise.all([answered("calls", from, cut), answered("calls", cut, to), answered("calls", from, to)]);
    expect(Number(a.get("")) + Number(b.get(""))).toBe(Number(whole.get("")));
  });

  it("cuts the first and last hourly windows at the range's edges", async () => {
    const from = BASE + 2_500; // 10:57:02.500
    const to = BASE + 3 * 60_000 + 30_500; // 11:00:30.500
    const res = await h.reader.queryUsage({ customerId: "c1", meterKey: "calls", from: timestampFromDate(new Date(from)), to: timestampFromDate(new Date(to)), windowSize: HOUR });
    const hour = Date.parse("2026-03-10T11:00:00Z");
    expect(res.rows.map((r) => [timestampDate(r.windowStart!).toISOString(), timestampDate(r.windowEnd!).toISOString(), r.value])).toEqual([
      [new Date(from).toISOString(), "2026-03-10T11:00:00.000Z", expected("calls", from, hour).get("")],
      ["2026-03-10T11:00:00.000Z", new Date(to).toISOString(), expected("calls", hour, to).get("")],
    ]);
  });
});

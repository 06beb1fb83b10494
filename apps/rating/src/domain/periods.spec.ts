import { firstPeriod, nextPeriod, periodAt, type PeriodRule } from "./periods";
import { fromLocal, toLocal } from "@tally/calendar";

const iso = (d: Date) => d.toISOString();
const range = (rule: PeriodRule, t: string) => {
  const p = periodAt(rule, new Date(t));
  return [iso(p.start), iso(p.end)];
};
const hours = (p: { start: Date; end: Date }) => (p.end.getTime() - p.start.getTime()) / 3_600_000;

describe("time zone conversion", () => {
  it("resolves a spring-forward gap forward and a fall-back overlap to the earlier instant", () => {
    // New York springs forward 2025-03-09 02:00 EST → 03:00 EDT.
    const gap = fromLocal({ year: 2025, month: 3, day: 9, hour: 2, minute: 30, second: 0, millisecond: 0 }, "America/New_York");
    expect(iso(gap)).toBe("2025-03-09T07:30:00.000Z"); // 03:30 EDT
    // Falls back 2025-11-02 02:00 EDT → 01:00 EST: 01:30 happens twice.
    const overlap = fromLocal({ year: 2025, month: 11, day: 2, hour: 1, minute: 30, second: 0, millisecond: 0 }, "America/New_York");
    expect(iso(overlap)).toBe("2025-11-02T05:30:00.000Z"); // 01:30 EDT, the first one
    expect(toLocal(overlap, "America/New_York").hour).toBe(1);
  });
});

describe("calendar periods", () => {
  const monthly = (timeZone: string, origin = "2020-01-01T00:00:00Z"): PeriodRule => ({
    interval: "month",
    anchor: "calendar",
    timeZone,
    origin: new Date(origin),
  });

  it.each([
    // [zone, instant, start, end]
    ["UTC", "2025-02-14T10:00:00Z", "2025-02-01T00:00:00.000Z", "2025-03-01T00:00:00.000Z"],
    ["UTC", "2024-02-29T23:59:59Z", "2024-02-01T00:00:00.000Z", "2024-03-01T00:00:00.000Z"],
    // Berlin: CET (+1) in January, CEST (+2) from the last Sunday of March.
    ["Europe/Berlin", "2025-03-15T12:00:00Z", "2025-02-28T23:00:00.000Z", "2025-03-31T22:00:00.000Z"],
    ["Europe/Berlin", "2025-10-15T12:00:00Z", "2025-09-30T22:00:00.000Z", "2025-10-31T23:00:00.000Z"],
    // New York: EST (-5) / EDT (-4); DST starts 2025-03-09, ends 2025-11-02.
    ["America/New_York", "2025-03-20T12:00:00Z", "2025-03-01T05:00:00.000Z", "2025-04-01T04:00:00.000Z"],
    ["America/New_York", "2025-11-20T12:00:00Z", "2025-11-01T04:00:00.000Z", "2025-12-01T05:00:00.000Z"],
    // A UTC instant already in the next local month.
    ["Asia/Tokyo", "2025-04-30T16:00:00Z", "2025-04-30T15:00:00.000Z", "2025-05-31T15:00:00.000Z"],
    // Just before local midnight of the 1st is still the previous month.
    ["America/New_York", "2025-05-01T03:59:59Z", "2025-04-01T04:00:00.000Z", "2025-05-01T04:00:00.000Z"],
    // End of the year.
    ["Europe/Berlin", "2025-12-31T22:59:59Z", "2025-11-30T23:00:00.000Z", "2025-12-31T23:00:00.000Z"],
    ["Europe/Berlin", "2025-12-31T23:00:00Z", "2025-12-31T23:00:00.000Z", "2026-01-31T23:00:00.000Z"],
  ])("%s %s → [%s, %s)", (zone, t, start, end) => {
    expect(range(monthly(zone), t)).toEqual([start, end]);
  });

  it("starts the first period at the subscription start and the next on the 1st", () => {
    const rule = monthly("Europe/Berlin", "2025-01-17T09:30:00Z");
    const first = firstPeriod(rule);
    expect([iso(first.start), iso(first.end)]).toEqual(["2025-01-17T09:30:00.000Z", "2025-01-31T23:00:00.000Z"]);
    const second = nextPeriod(rule, first);
    expect([iso(second.start), iso(second.end)]).toEqual(["2025-01-31T23:00:00.000Z", "2025-02-28T23:00:00.000Z"]);
  });

  it("has 23- and 25-hour days across DST in a daily interval", () => {
    const rule: PeriodRule = { interval: "day", anchor: "calendar", timeZone: "America/New_York", origin: new Date("2025-01-01T05:00:00Z") };
    expect(hours(periodAt(rule, new Date("2025-03-09T12:00:00Z")))).toBe(23);
    expect(hours(periodAt(rule, new Date("2025-11-02T12:00:00Z")))).toBe(25);
    expect(hours(periodAt(rule, new Date("2025-11-03T12:00:00Z")))).toBe(24);
    const berlin: PeriodRule = { ...rule, timeZone: "Europe/Berlin" };
    expect(hours(periodAt(berlin, new Date("2025-03-30T12:00:00Z")))).toBe(23);
    expect(hours(periodAt(berlin, new Date("2025-10-26T12:00:00Z")))).toBe(25);
  });

  it("places yearly periods on January 1 local", () => {
    const rule: PeriodRule = { interval: "year", anchor: "calendar", timeZone: "America/New_York", origin: new Date("2024-06-01T00:00:00Z") };
    expect(range(rule, "2025-07-01T00:00:00Z")).toEqual(["2025-01-01T05:00:00.000Z", "2026-01-01T05:00:00.000Z"]);
  });

  it("covers time without gaps or overlaps over several years", () => {
    for (const timeZone of ["UTC", "America/New_York", "Europe/Berlin", "Australia/Sydney"]) {
      const rule = monthly(timeZone, "2023-12-15T00:00:00Z");
      let p = firstPeriod(rule);
      for (let i = 0; i < 40; i++) {
        const n = nextPeriod(rule, p);
        expect(n.start.getTime()).toBe(p.end.getTime());
        expect(toLocal(n.start, timeZone)).toMatchObject({ day: 1, hour: 0, minute: 0 });
        p = n;
      }
    }
  });
});

describe("anniversary periods", () => {
  const rule = (origin: string, interval: PeriodRule["interval"] = "month", timeZone = "UTC"): PeriodRule => ({
    interval,
    anchor: "anniversary",
    timeZone,
    origin: new Date(origin),
  });

  it("keeps the anchor day and clamps it to the month end: Jan 31 → Feb 28/29 → Mar 31", () => {
    const r = rule("2025-01-31T10:00:00Z");
    const starts: string[] = [];
    let p = firstPeriod(r);
    for (let i = 0; i < 4; i++) {
      starts.push(iso(p.start));
      p = nextPeriod(r, p);
    }
    expect(starts).toEqual(["2025-01-31T10:00:00.000Z", "2025-02-28T10:00:00.000Z", "2025-03-31T10:00:00.000Z", "2025-04-30T10:00:00.000Z"]);
    expect(iso(periodAt(rule("2024-01-31T00:00:00Z"), new Date("2024-03-01T00:00:00Z")).start)).toBe("2024-02-29T00:00:00.000Z");
  });

  it("handles the 30th across February and the end of the year", () => {
    const r = rule("2024-11-30T00:00:00Z");
    expect(range(r, "2024-12-31T12:00:00Z")).toEqual(["2024-12-30T00:00:00.000Z", "2025-01-30T00:00:00.000Z"]);
    expect(range(r, "2025-03-01T00:00:00Z")).toEqual(["2025-02-28T00:00:00.000Z", "2025-03-30T00:00:00.000Z"]);
  });

  it("keeps the local time of day across DST (New York)", () => {
    // 09:00 EST on Feb 10 → 09:00 EDT on Mar 10 (one hour earlier in UTC).
    const r = rule("2025-02-10T14:00:00Z", "month", "America/New_York");
    expect(range(r, "2025-03-20T00:00:00Z")).toEqual(["2025-03-10T13:00:00.000Z", "2025-04-10T13:00:00.000Z"]);
    expect(range(r, "2025-11-15T00:00:00Z")).toEqual(["2025-11-10T14:00:00.000Z", "2025-12-10T14:00:00.000Z"]);
  });

  it("yearly from Feb 29 clamps to Feb 28", () => {
    const r = rule("2024-02-29T00:00:00Z", "year");
    expect(range(r, "2025-06-01T00:00:00Z")).toEqual(["2025-02-28T00:00:00.000Z", "2026-02-28T00:00:00.000Z"]);
    expect(range(r, "2028-03-01T00:00:00Z")).toEqual(["2028-02-29T00:00:00.000Z", "2029-02-28T00:00:00.000Z"]);
  });

  it("daily periods at a fixed local hour", () => {
    const r = rule("2025-03-08T15:00:00Z", "day", "America/New_York"); // 10:00 EST
    expect(range(r, "2025-03-09T15:30:00Z")).toEqual(["2025-03-09T14:00:00.000Z", "2025-03-10T14:00:00.000Z"]);
  });

  it("an instant on a boundary belongs to the period it starts", () => {
    const r = rule("2025-01-15T00:00:00Z");
    expect(range(r, "2025-02-15T00:00:00Z")).toEqual(["2025-02-15T00:00:00.000Z", "2025-03-15T00:00:00.000Z"]);
    expect(range(r, "2025-02-14T23:59:59.999Z")).toEqual(["2025-01-15T00:00:00.000Z", "2025-02-15T00:00:00.000Z"]);
  });
});

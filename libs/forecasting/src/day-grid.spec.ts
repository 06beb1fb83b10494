import { dayGrid, elapsedPoint } from "./day-grid";
import { ForecastInputError } from "./errors";

const at = (iso: string) => new Date(iso);

describe("dayGrid", () => {
  it("splits a calendar month into local days with their weekdays", () => {
    const days = dayGrid(at("2026-12-01T00:00:00Z"), at("2027-01-01T00:00:00Z"), "UTC");
    expect(days).toHaveLength(31);
    expect(days[0]).toEqual({ start: at("2026-12-01T00:00:00Z"), end: at("2026-12-02T00:00:00Z"), weekday: 2, exposure: 1 }); // a Tuesday
    expect(days[30]!.end).toEqual(at("2027-01-01T00:00:00Z"));
  });

  it("follows the customer's midnight across a DST change (23- and 25-hour days)", () => {
    // New York, March 2026: clocks spring forward on Sunday March 8; November 1 falls back.
    const march = dayGrid(at("2026-03-01T05:00:00Z"), at("2026-04-01T04:00:00Z"), "America/New_York");
    expect(march).toHaveLength(31);
    const hours = (i: number) => (march[i]!.end.getTime() - march[i]!.start.getTime()) / 3_600_000;
    expect([hours(6), hours(7), hours(8)]).toEqual([24, 23, 24]);
    expect(march[7]!.weekday).toBe(0);
    const november = dayGrid(at("2026-11-01T04:00:00Z"), at("2026-12-01T05:00:00Z"), "America/New_York");
    expect((november[0]!.end.getTime() - november[0]!.start.getTime()) / 3_600_000).toBe(25);
  });

  it("keeps an anniversary period's start time as the day boundary and cuts only the last day", () => {
    const days = dayGrid(at("2026-06-10T14:30:00Z"), at("2026-06-13T08:30:00Z"), "UTC");
    expect(days.map((d) => d.start.toISOString())).toEqual(["2026-06-10T14:30:00.000Z", "2026-06-11T14:30:00.000Z", "2026-06-12T14:30:00.000Z"]);
    expect(days.map((d) => d.exposure)).toEqual([1, 1, 0.75]);
  });

  it("refuses an empty period, naming it", () => {
    expect(() => dayGrid(at("2026-06-10T00:00:00Z"), at("2026-06-10T00:00:00Z"), "UTC")).toThrow(ForecastInputError);
  });
});

describe("elapsedPoint", () => {
  const days = dayGrid(at("2026-12-01T00:00:00Z"), at("2027-01-01T00:00:00Z"), "UTC");

  it("counts whole days and the share of the current one", () => {
    expect(elapsedPoint(days, at("2026-12-01T00:00:00Z"))).toEqual({ fullDays: 0, partialDay: 0 });
    expect(elapsedPoint(days, at("2026-12-05T18:00:00Z"))).toEqual({ fullDays: 4, partialDay: 0.75 });
    expect(elapsedPoint(days, at("2026-12-06T00:00:00Z"))).toEqual({ fullDays: 5, partialDay: 0 });
    expect(elapsedPoint(days, at("2027-02-01T00:00:00Z"))).toEqual({ fullDays: 31, partialDay: 0 });
  });
});

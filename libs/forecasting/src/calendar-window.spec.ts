import { Decimal } from "@tally/pricing";
import { billingsInWindow, calendarWindow, windowShare } from "./calendar-window";
import { ForecastInputError } from "./errors";

const at = (iso: string) => new Date(iso);

describe("calendarWindow", () => {
  it("is a month from local midnight to local midnight", () => {
    expect(calendarWindow({ kind: "month", year: 2026, month: 12, timeZone: "America/New_York" })).toEqual({
      start: at("2026-12-01T05:00:00Z"),
      end: at("2027-01-01T05:00:00Z"),
    });
  });

  it("is a quarter of three months, across a DST change", () => {
    // Berlin: +01:00 on January 1, +02:00 on April 1.
    expect(calendarWindow({ kind: "quarter", year: 2026, quarter: 1, timeZone: "Europe/Berlin" })).toEqual({
      start: at("2025-12-31T23:00:00Z"),
      end: at("2026-03-31T22:00:00Z"),
    });
    expect(calendarWindow({ kind: "quarter", year: 2026, quarter: 4, timeZone: "UTC" }).end).toEqual(at("2027-01-01T00:00:00Z"));
  });

  it("names the bad field", () => {
    const bad = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof ForecastInputError ? e.field : "other";
      }
      return "none";
    };
    expect(bad(() => calendarWindow({ kind: "month", year: 2026, month: 13, timeZone: "UTC" }))).toBe("month");
    expect(bad(() => calendarWindow({ kind: "quarter", year: 2026, quarter: 0, timeZone: "UTC" }))).toBe("quarter");
    expect(bad(() => calendarWindow({ kind: "month", year: 2026, month: 1, timeZone: "Mars/Olympus" }))).toBe("time_zone");
  });
});

describe("which part of a billing falls in a window", () => {
  const december = calendarWindow({ kind: "month", year: 2026, month: 12, timeZone: "UTC" });

  it("bills a period ending inside the window in full, and accrues the share inside it exactly", () => {
    // Nov 11 → Dec 11: invoiced Dec 11; 10 of its 30 days are in December.
    const share = windowShare({ covers: { start: at("2026-11-11T00:00:00Z"), end: at("2026-12-11T00:00:00Z") }, billedAt: at("2026-12-11T00:00:00Z") }, december);
    expect(share.billedInWindow).toBe(true);
    expect(share.accruedFraction.eq(new Decimal(10).div(30))).toBe(true);
  });

  it("leaves a period ending on the window's end to the next window (ends are exclusive)", () => {
    const share = windowShare({ covers: { start: december.start, end: december.end }, billedAt: december.end }, december);
    expect(share).toEqual({ billedInWindow: false, accruedFraction: new Decimal(1) });
  });

  it("lists the billings issued in the window, including the final of a subscription canceled in it", () => {
    const boundaries = ["2026-10-15", "2026-11-15", "2026-12-15", "2027-01-15"].map((d) => at(`${d}T00:00:00Z`));
    expect(billingsInWindow(boundaries, december)).toEqual([{ covers: { start: boundaries[1], end: boundaries[2] }, billedAt: boundaries[2] }]);
    // Canceled on December 3: the period from November 15 is cut there and billed then; nothing after.
    const canceled = at("2026-12-03T12:00:00Z");
    expect(billingsInWindow(boundaries, december, canceled)).toEqual([{ covers: { start: boundaries[1], end: canceled }, billedAt: canceled }]);
    // Canceled in November: its final falls in November, December has nothing.
    expect(billingsInWindow(boundaries, december, at("2026-11-20T00:00:00Z"))).toEqual([]);
  });
});

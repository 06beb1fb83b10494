import { addDays, atLocalTime, daysInMonth, fromLocal, isValidTimeZone, localDateOf, localTimeOfDay, toLocal, weekdayOf } from "./time-zone";

const at = (iso: string) => new Date(iso);
const wall = (year: number, month: number, day: number, hour = 0, minute = 0) => ({ year, month, day, hour, minute, second: 0, millisecond: 0 });

describe("time zones", () => {
  it("knows IANA names and refuses others", () => {
    expect(isValidTimeZone("America/New_York")).toBe(true);
    expect(isValidTimeZone("UTC")).toBe(true);
    expect(isValidTimeZone("Mars/Olympus")).toBe(false);
    expect(isValidTimeZone("")).toBe(false);
  });

  it("reads the wall clock of an instant, milliseconds included", () => {
    // 2026-03-08T06:59:59.250Z is 01:59:59.250 EST, a second before New York springs forward.
    expect(toLocal(at("2026-03-08T06:59:59.250Z"), "America/New_York")).toEqual({ ...wall(2026, 3, 8, 1, 59), second: 59, millisecond: 250 });
    expect(localDateOf(at("2026-03-08T04:30:00Z"), "America/New_York")).toEqual({ year: 2026, month: 3, day: 7 });
    expect(localTimeOfDay(at("2026-03-08T04:30:00Z"), "America/New_York")).toBe((23 * 60 + 30) * 60_000);
  });

  it("moves a wall time in a spring-forward gap past the gap", () => {
    // 02:30 does not exist in New York on 2026-03-08: it is 03:30 EDT (07:30Z).
    expect(fromLocal(wall(2026, 3, 8, 2, 30), "America/New_York").toISOString()).toBe("2026-03-08T07:30:00.000Z");
    // Santiago springs forward at midnight (2026-09-06): that local midnight is 01:00 -03 (04:00Z).
    expect(atLocalTime({ year: 2026, month: 9, day: 6 }, "America/Santiago").toISOString()).toBe("2026-09-06T04:00:00.000Z");
  });

  it("takes the earlier instant of a fall-back hour that happens twice", () => {
    // 01:30 happens twice in New York on 2026-11-01: first at EDT (05:30Z), then at EST (06:30Z).
    expect(fromLocal(wall(2026, 11, 1, 1, 30), "America/New_York").toISOString()).toBe("2026-11-01T05:30:00.000Z");
    expect(atLocalTime({ year: 2026, month: 11, day: 1 }, "America/New_York", 90 * 60_000).toISOString()).toBe("2026-11-01T05:30:00.000Z");
  });

  it("reads UTC without Intl, field for field as Intl reads Etc/UTC", () => {
    for (let ms = Date.parse("1999-12-31T23:59:59.999Z"); ms < Date.parse("2031-01-01T00:00:00Z"); ms += 7_777_777_777) {
      expect(toLocal(new Date(ms), "UTC")).toEqual(toLocal(new Date(ms), "Etc/UTC"));
    }
    expect(toLocal(at("2028-02-29T23:59:59.250Z"), "UTC")).toEqual({ ...wall(2028, 2, 29, 23, 59), second: 59, millisecond: 250 });
  });

  it("does calendar arithmetic on local dates", () => {
    expect(daysInMonth(2028, 2)).toBe(29);
    expect(daysInMonth(2026, 2)).toBe(28);
    expect(addDays({ year: 2026, month: 12, day: 31 }, 1)).toEqual({ year: 2027, month: 1, day: 1 });
    expect(addDays({ year: 2026, month: 3, day: 1 }, -1)).toEqual({ year: 2026, month: 2, day: 28 });
    expect(weekdayOf({ year: 2026, month: 12, day: 1 })).toBe(2); // a Tuesday
  });
});

import { Violations } from "./errors";
import { checkTimeInput } from "./time-range";

describe("checkTimeInput", () => {
  const check = (time: Date | undefined) => {
    const v = new Violations();
    return { usable: checkTimeInput(v, "start_time", time), violations: v.all.map((x) => [x.field, x.code]) };
  };

  it("accepts an unset time and any time in [2000-01-01, 2100-01-01)", () => {
    for (const time of [undefined, new Date("2000-01-01T00:00:00Z"), new Date("2026-12-01T18:00:00Z"), new Date("2099-12-31T23:59:59.999Z")]) {
      expect(check(time)).toEqual({ usable: true, violations: [] });
    }
  });

  it("rejects the bounds' outsides and dates beyond what Date holds, naming the field", () => {
    for (const time of [new Date("1999-12-31T23:59:59.999Z"), new Date("2100-01-01T00:00:00Z"), new Date("9999-12-31T23:59:59Z"), new Date(Number.NaN)]) {
      expect(check(time)).toEqual({ usable: false, violations: [["start_time", "out_of_range"]] });
    }
  });
});

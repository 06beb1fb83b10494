import { Decimal } from "@tally/pricing";
import { dailyIncrements, DayGrids, type AppliedReading } from "./daily-usage";

describe("daily usage increments", () => {
  // October 2026 in Berlin: DST ends on the 25th, so that local day lasts 25 hours.
  const period = { start: new Date("2026-09-30T22:00:00Z"), end: new Date("2026-10-31T23:00:00Z") };
  const reading = (time: string, value: string, aggregation: AppliedReading["aggregation"] = "sum", componentKey = "tok"): AppliedReading => ({
    subscriptionId: "s",
    componentKey,
    dimensionValue: "",
    aggregation,
    value: new Decimal(value),
    time: new Date(time),
    period,
    timeZone: "Europe/Berlin",
  });

  it("sums per local day of the period's grid, the 25-hour DST day included", () => {
    const rows = dailyIncrements(
      [
        reading("2026-10-24T22:00:00Z", "1"), // 00:00 Oct 25, local
        reading("2026-10-25T22:59:59.999Z", "2"), // 23:59:59.999 Oct 25 (UTC+1 by then): same local day
        reading("2026-10-25T23:00:00Z", "4"), // 00:00 Oct 26
        reading("2026-10-25T23:00:00Z", "0.5"),
      ],
      new DayGrids(),
    );
    expect(rows.map((r) => [r.dayStart.toISOString(), r.quantity.toFixed()])).toEqual([
      ["2026-10-24T22:00:00.000Z", "3"],
      ["2026-10-25T23:00:00.000Z", "4.5"],
    ]);
  });

  it("keeps COUNT and SUM only: a day's MAX, UNIQUE_COUNT or LATEST does not add up to the period's", () => {
    const rows = dailyIncrements(
      [reading("2026-10-02T10:00:00Z", "1", "count", "calls"), reading("2026-10-02T10:00:00Z", "9", "max", "seats"), reading("2026-10-02T10:00:00Z", "9", "latest", "gauge")],
      new DayGrids(),
    );
    expect(rows.map((r) => r.componentKey)).toEqual(["calls"]);
  });
});

import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { metering } from "@tally/contracts";
import { renderUsage } from "./usage";

function row(day: string, model: string, value: string): metering.UsageRow {
  return create(metering.UsageRowSchema, {
    windowStart: timestampFromDate(new Date(`${day}T00:00:00Z`)),
    group: { model },
    value,
  });
}

describe("renderUsage", () => {
  it("draws a bar per row scaled to the largest value, and a sparkline per group across windows", () => {
    const text = renderUsage([row("2026-11-29", "claude", "100"), row("2026-11-29", "gpt-4o", "400"), row("2026-11-30", "gpt-4o", "200"), row("2026-12-01", "claude", "0.5")], ["model"]);
    expect(text).toMatch(/│ 2026-11-29T00:00:00Z │ gpt-4o │ 400 +│ █{20} +│/);
    expect(text).toMatch(/│ 2026-11-29T00:00:00Z │ claude │ 100 +│ █{5} +│/);
    expect(text).toContain("2026-11-29T00:00:00Z … 2026-12-01T00:00:00Z");
    // claude: 100, nothing, 0.5 of a 400 maximum; gpt-4o: 400, 200, nothing.
    expect(text).toMatch(/^model=claude +▃▁▁$/m);
    expect(text).toMatch(/^model=gpt-4o +█▅▁$/m);
  });

  it("says so when there is no usage", () => {
    expect(renderUsage([], ["model"])).toBe("no usage in this range\n");
  });
});

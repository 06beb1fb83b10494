import { bar, sparkline } from "./bars";

describe("bars", () => {
  it("draws a bar in eighths of a cell", () => {
    expect(bar(1, 4)).toBe("████");
    expect(bar(0.5, 4)).toBe("██");
    expect(bar(1 / 32, 4)).toBe("▏");
    expect(bar(0, 4)).toBe("");
    expect(bar(7, 2)).toBe("██");
  });

  it("scales a sparkline to its largest value", () => {
    expect(sparkline([0, 1, 2, 4])).toBe("▁▃▅█");
    expect(sparkline([0, 0])).toBe("▁▁");
    expect(sparkline([0.5, 1], 2)).toBe("▃▅");
  });
});

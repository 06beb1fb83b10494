import { displayDecimal } from "./decimal";

describe("displayDecimal", () => {
  it("keeps short decimals exactly as written", () => {
    expect(displayDecimal("1200")).toBe("1200");
    expect(displayDecimal("0.500000")).toBe("0.500000");
    expect(displayDecimal("")).toBe("");
  });

  it("shortens long fractions to six places, half-even, and says so", () => {
    expect(displayDecimal("0.9676406362007168458781362007168458781362")).toBe("≈0.967641");
    expect(displayDecimal("0.33333350000001", 6)).toBe("≈0.333334");
    expect(displayDecimal("2.0000005", 6)).toBe("≈2");
  });
});

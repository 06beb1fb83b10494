import { formatDateRange, formatFraction, formatMoney, formatPreciseMoney, formatQuantity } from "./format";

describe("formatMoney: the currency's ISO 4217 minor unit, exact decimal input", () => {
  test.each([
    ["1234.5", "USD", "$1,234.50"],
    ["1234.5", "JPY", "¥1,234"], // 0 decimals; .5 rounds half to even → 1,234
    ["1235.5", "JPY", "¥1,236"],
    ["12.3455", "KWD", "KWD 12.346"], // 3 decimals, code: no Latin-1 symbol
    ["-5", "EUR", "-€5.00"],
    ["5", "INR", "INR 5.00"], // ₹ is not in the PDF fonts' encoding
    ["99999999999999999999.995", "GBP", "£100,000,000,000,000,000,000.00"], // beyond float precision
    ["0.125", "USD", "$0.12"], // half to even, once
  ])("%s %s → %s", (amount, currency, expected) => {
    expect(formatMoney(amount, currency).replace(/\u00a0/g, " ")).toBe(expected);
  });

  test("IQD has 3 decimals by ISO 4217 even though CLDR shows 0", () => {
    expect(formatMoney("1.5", "IQD").replace(/\u00a0/g, " ")).toBe("IQD 1.500");
  });
});

test("precise amounts keep every significant digit", () => {
  expect(formatPreciseMoney("0.0000025", "USD")).toBe("$0.0000025");
  expect(formatPreciseMoney("3", "USD")).toBe("$3.00");
  expect(formatPreciseMoney("0.5", "JPY")).toBe("¥0.5");
});

test("quantities, fractions and periods", () => {
  expect(formatQuantity("7250000")).toBe("7,250,000");
  expect(formatQuantity("0.000000000001")).toBe("0.000000000001");
  expect(formatFraction("0.4838709677")).toBe("48.39%");
  expect(formatDateRange({ start: new Date("2025-05-01T00:00:00Z"), end: new Date("2025-06-01T00:00:00Z") })).toBe("May 1, 2025 – May 31, 2025");
  expect(formatDateRange({ start: new Date("2025-05-01T00:00:00Z"), end: new Date("2025-06-01T00:00:00Z") }, "America/New_York")).toBe(
    "Apr 30, 2025 – May 31, 2025",
  );
});

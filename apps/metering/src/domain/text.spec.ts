import { codePointLength, compareCodePoints, fitsLength, hasNul } from "./text";

describe("text rules", () => {
  it("counts characters as code points", () => {
    expect(codePointLength("abc")).toBe(3);
    expect(codePointLength("😀é")).toBe(2);
    expect(fitsLength("😀".repeat(255), 255)).toBe(true);
    expect(fitsLength("😀".repeat(256), 255)).toBe(false);
  });

  it("finds NUL characters", () => {
    expect(hasNul("a\u0000")).toBe(true);
    expect(hasNul("a0")).toBe(false);
  });

  it("orders strings like UTF-8 bytes (Postgres COLLATE \"C\")", () => {
    const words = ["b", "a", "😀", "～", "ab", "", "é"];
    const byUtf8 = [...words].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...words].sort(compareCodePoints)).toEqual(byUtf8);
    expect(byUtf8).toEqual(["", "a", "ab", "b", "é", "～", "😀"]);
  });
});

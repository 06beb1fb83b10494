import { newId } from "./ids";

describe("newId", () => {
  it("is prefixed, time-ordered and unique", () => {
    const ids = Array.from({ length: 2000 }, () => newId("res"));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => /^res_[0-9a-z]{9}[0-9a-f]{20}$/.test(id))).toBe(true);
  });
});

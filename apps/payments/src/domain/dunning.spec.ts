import { nextRetryTime, parseSchedule } from "./dunning";

describe("dunning schedule", () => {
  const first = new Date("2026-03-01T00:00:00Z");
  it.each([
    [1, "2026-03-02T00:00:00.000Z"], // attempt 1 failed → retry day 1
    [2, "2026-03-04T00:00:00.000Z"], // → day 3
    [3, "2026-03-06T00:00:00.000Z"], // → day 5
    [4, "2026-03-08T00:00:00.000Z"], // → day 7
  ])("after attempt %i fails the next is due at %s", (n, due) => {
    expect(nextRetryTime([1, 3, 5, 7], first, n)?.toISOString()).toBe(due);
  });
  it("is exhausted after the last retry", () => {
    expect(nextRetryTime([1, 3, 5, 7], first, 5)).toBeUndefined();
  });
  it("parses increasing offsets and refuses others", () => {
    expect(parseSchedule("1, 3,5,7")).toEqual([1, 3, 5, 7]);
    expect(() => parseSchedule("3,1")).toThrow(/increase/);
    expect(() => parseSchedule("1,x")).toThrow(/offsets/);
  });
});

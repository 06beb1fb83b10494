import fc from "fast-check";
import { deciles, nearestRank } from "./quantiles";

describe("quantiles", () => {
  it("takes the ⌈q·n⌉-th smallest value", () => {
    const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect([nearestRank(ten, 0.1), nearestRank(ten, 0.5), nearestRank(ten, 0.9)]).toEqual([1, 5, 9]);
    expect(deciles(Float64Array.from([10, 3, 7, 1, 9, 2, 8, 4, 6, 5]))).toEqual({ p10: 1, p50: 5, p90: 9 });
    expect(deciles(Float64Array.from([42]))).toEqual({ p10: 42, p50: 42, p90: 42 });
  });

  it("selects what a full sort would, for any values (ties included)", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 5 }), fc.double({ min: 0, max: 1e6, noNaN: true })), { minLength: 1, maxLength: 300 }), (values) => {
        const sorted = [...values].sort((a, b) => a - b);
        expect(deciles(Float64Array.from(values))).toEqual({ p10: nearestRank(sorted, 0.1), p50: nearestRank(sorted, 0.5), p90: nearestRank(sorted, 0.9) });
      }),
    );
  });
});

import { Decimal } from "@tally/pricing";
import { settleCommitted } from "./reservation-settlement";

const d = (s: string) => new Decimal(s);

describe("settleCommitted", () => {
  it("covers committed holds oldest first, partially when the increase runs out", () => {
    const held = [
      { id: "r1", quantity: d("5"), settled: d("0") },
      { id: "r2", quantity: d("10"), settled: d("2") },
      { id: "r3", quantity: d("4"), settled: d("0") },
    ];
    // 5 settles r1, 8 settles r2 (10 − 2), the last 1 goes to r3
    expect(settleCommitted(held, d("14")).map((s) => [s.id, s.settled.toFixed(), s.done])).toEqual([
      ["r1", "5", true],
      ["r2", "10", true],
      ["r3", "1", false],
    ]);
  });

  it("settles nothing without an increase", () => {
    expect(settleCommitted([{ id: "r1", quantity: d("5"), settled: d("0") }], d("0"))).toEqual([]);
  });
});

import { admits, LoopLag } from "./admission";

/** A clock the test moves: the loop's lag is whatever the test says the timer saw. */
function lagWithClock(intervalMs = 20) {
  const clock = { now: 1_000 };
  return { clock, lag: new LoopLag(intervalMs, () => clock.now) };
}

describe("LoopLag", () => {
  it("is 0 while the timer runs on time", () => {
    const { clock, lag } = lagWithClock();
    clock.now += 20;
    lag.tick();
    clock.now += 5;
    expect(lag.current()).toBe(0);
  });

  it("reports how late the last tick ran, for as long again (what arrived meanwhile is read after it)", () => {
    const { clock, lag } = lagWithClock();
    clock.now += 20 + 180; // the tick due at +20 ran at +200
    lag.tick();
    expect(lag.current()).toBe(180);
    // Ticks on time do not clear it before 180 ms have passed...
    for (let i = 0; i < 8; i++) {
      clock.now += 20;
      lag.tick();
    }
    expect(lag.current()).toBe(180);
    // ...and do after.
    clock.now += 20;
    lag.tick();
    expect(lag.current()).toBe(0);
  });

  it("holds the larger of two lags", () => {
    const { clock, lag } = lagWithClock();
    clock.now += 20 + 300;
    lag.tick();
    clock.now += 20 + 50;
    lag.tick();
    expect(lag.current()).toBe(300);
  });

  it("counts a stall still going on (the tick is overdue), before the timer gets its turn", () => {
    const { clock, lag } = lagWithClock();
    clock.now += 20;
    lag.tick();
    clock.now += 1_020; // blocked for a second: the timer has not run since
    expect(lag.current()).toBe(1_000);
  });
});

describe("admits", () => {
  const options = { maxLagMs: 150, minDeadlineMs: 10 };
  const now = 50_000;

  it("admits a call without a deadline while the loop keeps up", () => {
    expect(admits(options, 0, Infinity, now)).toBe(true);
    expect(admits(options, 150, Infinity, now)).toBe(true);
  });

  it("refuses everything while the loop lags past maxLagMs", () => {
    expect(admits(options, 151, Infinity, now)).toBe(false);
  });

  it("refuses a call whose deadline, less the lag, leaves under minDeadlineMs", () => {
    expect(admits(options, 0, now + 10, now)).toBe(true);
    expect(admits(options, 0, now + 9, now)).toBe(false);
    // 100 ms left, but the loop is 95 ms late: 5 ms is not enough.
    expect(admits(options, 95, now + 100, now)).toBe(false);
    expect(admits(options, 0, now - 1, now)).toBe(false);
  });
});

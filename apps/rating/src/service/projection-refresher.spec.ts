import type { Logger } from "@tally/platform";
import type { Forecaster } from "./forecaster";
import { ProjectionRefresher } from "./projection-refresher";

/**
 * The refresher's scheduling, with fake timers and a stand-in forecaster whose sweeps take a
 * chosen time: a full sweep at start, touched customers after the debounce, a pause of four
 * times a sweep between sweeps, and idle() sweeping what is due at once.
 */
describe("ProjectionRefresher", () => {
  const logger = { warn: () => undefined, info: () => undefined, error: () => undefined, debug: () => undefined } as unknown as Logger;
  let calls: (readonly string[] | "all")[];
  let sweepMs: number;
  let refresher: ProjectionRefresher;

  beforeEach(() => {
    jest.useFakeTimers();
    calls = [];
    sweepMs = 0;
    const forecaster = {
      refreshStale: async (customers?: readonly string[]) => {
        calls.push(customers ? [...customers].sort() : "all");
        // The sweep's own duration, on the fake clock (performance.now() follows it).
        if (sweepMs > 0) await new Promise((resolve) => setTimeout(resolve, sweepMs));
        return customers?.length ?? 10;
      },
    } as unknown as Forecaster;
    refresher = new ProjectionRefresher(forecaster, logger, { intervalMs: 60_000, debounceMs: 1_000 });
  });
  afterEach(async () => {
    // stop() waits for a sweep in progress, which waits on the fake clock.
    const stopped = refresher.stop();
    await jest.advanceTimersByTimeAsync(sweepMs);
    await stopped;
    jest.useRealTimers();
  });

  it("sweeps everything at start, then touched customers once the debounce has passed, coalesced", async () => {
    refresher.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(calls).toEqual(["all"]);
    refresher.touch(["c1"]);
    refresher.touch(["c2", "c1"]);
    await jest.advanceTimersByTimeAsync(999);
    expect(calls).toEqual(["all"]);
    await jest.advanceTimersByTimeAsync(1);
    expect(calls).toEqual(["all", ["c1", "c2"]]);
    expect(refresher.stats).toMatchObject({ sweeps: 2, projected: 12 });
  });

  it("pauses four times a sweep's duration before the next one while usage keeps coming", async () => {
    refresher.start();
    await jest.advanceTimersByTimeAsync(0);
    sweepMs = 2_000;
    refresher.touch(["c1"]);
    await jest.advanceTimersByTimeAsync(1_000); // the debounce: a 2 s sweep of c1 starts
    refresher.touch(["c2"]); // arrives during it
    await jest.advanceTimersByTimeAsync(2_000); // c1's sweep done
    expect(calls).toEqual(["all", ["c1"]]);
    await jest.advanceTimersByTimeAsync(7_999); // 4 × 2 s pause, less a millisecond
    expect(calls).toEqual(["all", ["c1"]]);
    await jest.advanceTimersByTimeAsync(1);
    expect(calls).toEqual(["all", ["c1"], ["c2"]]);
  });

  it("idle() sweeps what is due at once, and a periodic full sweep comes every interval", async () => {
    refresher.start();
    await jest.advanceTimersByTimeAsync(0);
    refresher.touch(["c3"]);
    await refresher.idle();
    expect(calls).toEqual(["all", ["c3"]]);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(calls).toEqual(["all", ["c3"], "all"]);
  });
});

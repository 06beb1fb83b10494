import { isTransientProvisioningError, withProvisioningRetry } from "./provisioning-retry";

const noPeers = Object.assign(new Error("no suitable peers for placement"), { code: "400", api_error: { code: 400, err_code: 10005 } });
const badConfig = Object.assign(new Error("subjects overlap with an existing stream"), { code: "400", api_error: { code: 400, err_code: 10065 } });

/** A clock that only moves when the retry sleeps: no real waiting. */
function fakeTime() {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
}

describe("withProvisioningRetry", () => {
  it("knows the cluster-forming errors from the others", () => {
    expect(isTransientProvisioningError(noPeers)).toBe(true);
    expect(isTransientProvisioningError(Object.assign(new Error("timeout"), { code: "TIMEOUT" }))).toBe(true);
    expect(isTransientProvisioningError(Object.assign(new Error("unavailable"), { code: "503" }))).toBe(true);
    expect(isTransientProvisioningError(badConfig)).toBe(false);
    expect(isTransientProvisioningError("boom")).toBe(false);
  });

  it("waits out a forming cluster with growing delays, then succeeds", async () => {
    const time = fakeTime();
    const delays: number[] = [];
    let calls = 0;
    const result = await withProvisioningRetry(
      async () => {
        if (++calls < 5) throw noPeers;
        return "created";
      },
      { maxWaitMs: 60_000, ...time, onRetry: (_e, _n, d) => delays.push(d) },
    );
    expect(result).toBe("created");
    expect(delays).toEqual([100, 200, 400, 800]);
  });

  it("fails at once on a non-transient error", async () => {
    let calls = 0;
    const attempt = async () => {
      calls++;
      throw badConfig;
    };
    await expect(withProvisioningRetry(attempt, { maxWaitMs: 60_000, ...fakeTime() })).rejects.toBe(badConfig);
    expect(calls).toBe(1);
  });

  it("gives up with the last error once the wait would pass maxWaitMs", async () => {
    const time = fakeTime();
    await expect(withProvisioningRetry(async () => Promise.reject(noPeers), { maxWaitMs: 5_000, ...time })).rejects.toBe(noPeers);
    expect(time.now()).toBeLessThanOrEqual(5_000);
    expect(time.now()).toBeGreaterThan(2_000);
  });
});

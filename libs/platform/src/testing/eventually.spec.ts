import { eventually, until } from "./eventually";

describe("eventually / until", () => {
  it("retries until the check passes and returns its value", async () => {
    let calls = 0;
    const value = await eventually(async () => {
      if (++calls < 3) throw new Error("not yet");
      return "ready";
    });
    expect([value, calls]).toEqual(["ready", 3]);
  });

  it("rethrows the check's last error once the bound has passed", async () => {
    await expect(eventually(() => Promise.reject(new Error("never")), 30)).rejects.toThrow("never");
  });

  it("waits for a condition and names it when it never holds", async () => {
    let n = 0;
    await until("the third poll", () => ++n >= 3);
    expect(n).toBe(3);
    await expect(until("the impossible", () => false, 30)).rejects.toThrow("timed out waiting for the impossible");
  });
});

import { KeySerializer } from "./key-serializer";

describe("KeySerializer", () => {
  it("runs one key's work one at a time in arrival order, other keys alongside, and survives failures", async () => {
    const s = new KeySerializer();
    const log: string[] = [];
    let releaseA: () => void = () => undefined;
    const a1 = s.run("a", () => new Promise<void>((r) => (releaseA = r)).then(() => void log.push("a1")));
    const a2 = s.run("a", async () => {
      log.push("a2");
      throw new Error("a2 failed");
    });
    const a3 = s.run("a", async () => void log.push("a3"));
    await s.run("b", async () => void log.push("b1"));
    expect(log).toEqual(["b1"]); // b did not wait for a
    releaseA();
    await a1;
    await expect(a2).rejects.toThrow("a2 failed");
    await a3;
    expect(log).toEqual(["b1", "a1", "a2", "a3"]);
  });
});

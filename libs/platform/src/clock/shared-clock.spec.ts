import { until } from "../testing/eventually";
import { createTestEnvironment, type TestEnvironment } from "../testing/test-environment";
import { openClockBucket, seenRevision, setSharedTime, SharedClock } from "./shared-clock";

describe("SharedClock (TALLY_CLOCK=manual)", () => {
  let env: TestEnvironment;
  const clocks: SharedClock[] = [];
  beforeAll(async () => {
    env = await createTestEnvironment();
  });
  afterAll(async () => {
    for (const c of clocks) c.stop();
    await (await openClockBucket(env.bus)).destroy();
    await env.close();
  });
  const follow = async (instance: string, start?: string) => {
    const c = await SharedClock.follow(env.bus, { instance, start: start ? new Date(start) : undefined });
    clocks.push(c);
    return c;
  };

  it("starts every follower at the first one's start, and a late joiner at the current time", async () => {
    const a = await follow("127.0.0.1:1001", "2026-11-01T00:00:00Z");
    const b = await follow("127.0.0.1:1002", "2030-01-01T00:00:00Z");
    expect(a.now().toISOString()).toBe("2026-11-01T00:00:00.000Z");
    expect(b.now().toISOString()).toBe("2026-11-01T00:00:00.000Z");
  });

  it("moves every follower to a time the harness sets, each acknowledging the revision it applied", async () => {
    const kv = await openClockBucket(env.bus);
    const revision = await setSharedTime(kv, new Date("2026-11-05T12:00:00Z"));
    await until("both followers acknowledge", async () => (await seenRevision(kv, "127.0.0.1:1001")) >= revision && (await seenRevision(kv, "127.0.0.1:1002")) >= revision);
    expect(clocks.map((c) => c.now().toISOString())).toEqual(["2026-11-05T12:00:00.000Z", "2026-11-05T12:00:00.000Z"]);
    const late = await follow("127.0.0.1:1003");
    expect(late.now().toISOString()).toBe("2026-11-05T12:00:00.000Z");
  });

  it("moveTo from one service moves the others, and the time never goes back", async () => {
    await clocks[0]!.moveTo(new Date("2026-11-20T00:00:00Z"));
    expect(clocks[0]!.now().toISOString()).toBe("2026-11-20T00:00:00.000Z");
    await until("every follower at the 20th", () => clocks.every((c) => c.now().toISOString() === "2026-11-20T00:00:00.000Z"));
    const kv = await openClockBucket(env.bus);
    const revision = await setSharedTime(kv, new Date("2026-11-10T00:00:00Z"));
    await until("the stale time acknowledged", async () => (await seenRevision(kv, "127.0.0.1:1002")) >= revision);
    expect(clocks[1]!.now().toISOString()).toBe("2026-11-20T00:00:00.000Z");
  });
});

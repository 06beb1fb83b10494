import { createLogger } from "@tally/platform";
import type { CustomerPage } from "./customer-page";
import { LiveUpdates } from "./live-updates";

const log = createLogger({}, "silent");

function controllableBuild() {
  const pending: { customerId: string; resolve: (page: CustomerPage) => void }[] = [];
  const build = (customerId: string) => new Promise<CustomerPage>((resolve) => pending.push({ customerId, resolve }));
  const finish = async (n = 0) => {
    const call = pending.splice(n, 1)[0]!;
    call.resolve({ customerId: call.customerId } as CustomerPage);
    await new Promise((r) => setImmediate(r));
  };
  return { build, pending, finish };
}

describe("LiveUpdates", () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ["setImmediate"] }));
  afterEach(() => jest.useRealTimers());

  test("a burst of changes during a rebuild costs one more rebuild, pushed to every watcher", async () => {
    const { build, pending, finish } = controllableBuild();
    const live = new LiveUpdates(build, log);
    const a: CustomerPage[] = [];
    const b: CustomerPage[] = [];
    live.watch("cus_1", (p) => a.push(p));
    live.watch("cus_1", (p) => b.push(p));

    live.customerChanged("cus_1");
    live.customerChanged("cus_1");
    live.customerChanged("cus_1");
    expect(pending).toHaveLength(1);
    await finish();
    expect(pending).toHaveLength(1); // the coalesced follow-on
    await finish();
    expect(pending).toHaveLength(0);
    expect(a).toHaveLength(2);
    expect(b).toHaveLength(2);

    // One follow-up rebuild after FOLLOW_UP_MS picks up what limits changes a hop later.
    jest.advanceTimersByTime(LiveUpdates.FOLLOW_UP_MS);
    expect(pending).toHaveLength(1);
    await finish();
    expect(a).toHaveLength(3);
    live.close();
  });

  test("customers nobody watches cost nothing, and a stopped watcher hears nothing", () => {
    const { build, pending } = controllableBuild();
    const live = new LiveUpdates(build, log);
    live.customerChanged("cus_unwatched");
    expect(pending).toHaveLength(0);

    const seen: CustomerPage[] = [];
    const stop = live.watch("cus_2", (p) => seen.push(p));
    stop();
    live.customerChanged("cus_2");
    jest.advanceTimersByTime(LiveUpdates.FOLLOW_UP_MS);
    expect(pending).toHaveLength(0);
    expect(seen).toHaveLength(0);
    live.close();
  });
});

import { createLogger } from "@tally/platform";
import type { CustomerSections } from "./customer-page";
import { LiveUpdates, type SectionSink } from "./live-updates";

type Update = Partial<CustomerSections>;

const log = createLogger({}, "silent");

function controllableBuild() {
  const pending: { emit: SectionSink; resolve: () => void }[] = [];
  const build = (_customerId: string, emit: SectionSink) => new Promise<void>((resolve) => pending.push({ emit, resolve }));
  /** Ends the oldest build after it emitted two sections. */
  const finish = async () => {
    const call = pending.shift()!;
    call.emit({ amount: { available: false, reason: "a" } });
    call.emit({ forecast: { available: false, reason: "b" } });
    call.resolve();
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
    const a: Update[] = [];
    const b: Update[] = [];
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
    expect(a).toHaveLength(4); // two builds × two sections, each as it came
    expect(b).toHaveLength(4);

    // One follow-up rebuild after FOLLOW_UP_MS picks up what limits changes a hop later.
    jest.advanceTimersByTime(LiveUpdates.FOLLOW_UP_MS);
    expect(pending).toHaveLength(1);
    await finish();
    expect(a).toHaveLength(6);
    live.close();
  });

  test("customers nobody watches cost nothing, and a stopped watcher hears nothing", () => {
    const { build, pending } = controllableBuild();
    const live = new LiveUpdates(build, log);
    live.customerChanged("cus_unwatched");
    expect(pending).toHaveLength(0);

    const seen: Update[] = [];
    const stop = live.watch("cus_2", (p) => seen.push(p));
    stop();
    live.customerChanged("cus_2");
    jest.advanceTimersByTime(LiveUpdates.FOLLOW_UP_MS);
    expect(pending).toHaveLength(0);
    expect(seen).toHaveLength(0);
    live.close();
  });
});

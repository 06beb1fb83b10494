import type { KV } from "nats";
import type { EventBus } from "../nats/event-bus";
import { ManualClock } from "./clock";

const NOW_KEY = "now";
const codec = new TextEncoder();
const decoder = new TextDecoder();

/**
 * `TALLY_CLOCK=manual`: one time for the whole deployment, held in a NATS KV bucket
 * (`TALLY_CLOCK`, with the deployment prefix) that every service process watches.
 *
 * Why a KV key rather than an AdvanceClock rpc on every service: every service already holds a
 * NATS connection, so one platform module makes all of them follow the same time with no
 * contract change per service; a service started (or restarted after a kill -9) later reads the
 * current time at once instead of starting at its own; and a harness sets the time with one
 * write. Each instance acknowledges what it applied under `seen.<instance>` (its gRPC address),
 * so a harness can wait until every process has moved before it acts on the new time.
 *
 * The time never moves backwards: a stale write (a lower revision) is ignored.
 */
export class SharedClock extends ManualClock {
  private revision = 0;
  private stopped = false;
  private readonly waiters: { revision: number; resolve(): void }[] = [];

  private constructor(
    private readonly kv: KV,
    private readonly instance: string,
    start: Date,
  ) {
    super(start);
  }

  /** Joins the deployment's clock; when nobody set it yet, it starts at `start`. */
  static async follow(bus: EventBus, options: { instance: string; start?: Date }): Promise<SharedClock> {
    const kv = await openClockBucket(bus);
    const start = options.start ?? new Date();
    await kv.create(NOW_KEY, codec.encode(start.toISOString())).catch(() => undefined); // someone set it already
    const current = await kv.get(NOW_KEY);
    const clock = new SharedClock(kv, sanitizeKey(options.instance), current ? parseTime(current.value) : start);
    if (current) await clock.apply(current.revision, parseTime(current.value));
    void clock.watch();
    return clock;
  }

  /** Moves every follower to `time` and resolves once this instance runs on it. */
  async moveTo(time: Date): Promise<void> {
    const revision = await this.kv.put(NOW_KEY, codec.encode(time.toISOString()));
    if (this.revision >= revision) return;
    await new Promise<void>((resolve) => this.waiters.push({ revision, resolve }));
  }

  stop(): void {
    this.stopped = true;
  }

  private async watch(): Promise<void> {
    while (!this.stopped) {
      try {
        const updates = await this.kv.watch({ key: NOW_KEY });
        for await (const entry of updates) {
          if (this.stopped) return updates.stop();
          if (entry.operation === "PUT") await this.apply(entry.revision, parseTime(entry.value));
        }
      } catch {
        // NATS away: keep the last time; the watch starts again once it answers.
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  private async apply(revision: number, time: Date): Promise<void> {
    if (revision <= this.revision) return;
    this.revision = revision;
    if (time.getTime() > this.now().getTime()) this.set(time);
    // The acknowledgement is what a harness waits on: one lost while NATS fails over (a node's
    // loss, a stream leader's election) is sent again, not dropped.
    for (let pause = 50; !this.stopped; pause = Math.min(pause * 2, 2_000)) {
      if (await this.kv.put(`seen.${this.instance}`, codec.encode(String(revision))).then(() => true, () => false)) break;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
    for (const w of this.waiters.filter((x) => x.revision <= revision)) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve();
    }
  }
}

/** The deployment's clock bucket, for a harness that sets the time (`setSharedTime`). */
export async function openClockBucket(bus: EventBus): Promise<KV> {
  // As many copies as the deployment's streams: on a cluster, the clock must outlive the loss of a node.
  return bus.connection.jetstream().views.kv(bus.streamName("clock"), { history: 1, replicas: bus.replicas });
}

/** Sets the deployment's time; returns the revision followers acknowledge under `seen.<instance>`. */
export async function setSharedTime(kv: KV, time: Date): Promise<number> {
  return kv.put(NOW_KEY, codec.encode(time.toISOString()));
}

/** The revision an instance (its gRPC address) last applied, 0 when it never did. */
export async function seenRevision(kv: KV, instance: string): Promise<number> {
  const entry = await kv.get(`seen.${sanitizeKey(instance)}`);
  return entry ? Number(decoder.decode(entry.value)) : 0;
}

function sanitizeKey(instance: string): string {
  return instance.replace(/[^A-Za-z0-9_=-]/g, "_");
}

function parseTime(value: Uint8Array): Date {
  return new Date(decoder.decode(value));
}

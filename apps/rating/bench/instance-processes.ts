import { fork, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { TEST_API_KEYS, type TestEnvironment } from "@tally/platform/testing";

/** What an instance (bench/rating-instance.ts) reports after each committed rating transaction. */
export interface Committed {
  /** Instance index, 0-based. */
  instance: number;
  /** Commit time on this process's performance.now() clock. */
  at: number;
  /** Events in the transaction, by bench message (the event id up to its first "-"). */
  perMessage: [string, number][];
  /** The instance's CPU time (user + system) at that moment, µs. */
  cpuMicros: number;
}

export interface RatingInstances {
  addresses: string[];
  children: ChildProcess[];
  onCommitted(listener: (c: Committed) => void): void;
  /** Stops every instance gracefully; resolves with each one's rating transaction count. */
  stop(): Promise<number[]>;
}

/**
 * Starts `count` rating instances, each its own process as in production, on the bench
 * environment's database and NATS prefix, one after another (each reports ready first).
 */
export async function startRatingInstances(env: TestEnvironment, count: number, envOf: (instance: number) => Record<string, string> = () => ({})): Promise<RatingInstances> {
  const children: ChildProcess[] = [];
  const addresses: string[] = [];
  const listeners: ((c: Committed) => void)[] = [];
  for (let i = 0; i < count; i++) {
    const child = fork(path.join(__dirname, "rating-instance.ts"), [], {
      execArgv: ["--require", path.join(__dirname, "../../../tools/ts-node-register.js"), ...(process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [])],
      env: {
        ...process.env,
        DATABASE_URL: env.database.url,
        NATS_URL: env.natsUrl,
        NATS_PREFIX: env.natsPrefix,
        RATING_GRPC_ADDRESS: "127.0.0.1:0",
        API_KEYS: TEST_API_KEYS,
        LOG_LEVEL: "warn",
        ...envOf(i),
      },
    });
    children.push(child);
    addresses.push(
      await new Promise<string>((resolve, reject) => {
        child.once("error", reject);
        child.once("exit", (code) => reject(new Error(`rating instance exited with ${code}`)));
        const onMessage = (m: { type: string; address?: string }) => {
          if (m.type === "ready") {
            child.off("message", onMessage);
            child.removeAllListeners("exit");
            resolve(m.address!);
          }
        };
        child.on("message", onMessage);
      }),
    );
    child.on("message", (m: { type: string; t?: number; perMessage?: [string, number][]; cpuMicros?: number }) => {
      if (m.type !== "committed") return;
      const committed = { instance: i, at: m.t! - performance.timeOrigin, perMessage: m.perMessage!, cpuMicros: m.cpuMicros! };
      for (const listener of listeners) listener(committed);
    });
  }
  return {
    addresses,
    children,
    onCommitted: (listener) => listeners.push(listener),
    stop: () =>
      Promise.all(
        children.map(
          (child) =>
            new Promise<number>((resolve) => {
              let batches = 0;
              const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
              child.on("message", (m: { type: string; batches?: number }) => {
                if (m.type === "stopped") batches = m.batches!;
              });
              child.once("exit", () => {
                clearTimeout(timer);
                resolve(batches);
              });
              child.send({ type: "stop" });
            }),
        ),
      ),
  };
}

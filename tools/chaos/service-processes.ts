import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { TEST_API_KEYS, TEST_KEYS, checkHealth } from "@tally/platform/testing";
import { freePort, waitUntil } from "./private-servers";

const ROOT = path.resolve(__dirname, "../..");

/** Where each service's output (its warn/error log) goes, one file per process name. */
export const LOG_DIR = path.join(tmpdir(), `tally-chaos-logs-${process.pid}`);

export type ServiceKind = "metering" | "rating" | "limits" | "invoicing" | "payments";

/** One service process; the harness kills it with -9 and starts it again on the same port. */
export class ServiceProcess {
  private child?: ChildProcess;
  private expectingExit = false;
  /** Exits the harness did not cause: each one is a failure of the run. */
  unexpectedExits: string[] = [];
  log: string[] = [];

  constructor(
    readonly name: string,
    readonly kind: ServiceKind,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  /** The running process's id (for its CPU time), undefined when it is not running. */
  get pid(): number | undefined {
    const child = this.child;
    return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  start(): void {
    this.expectingExit = false;
    const child = spawn(process.execPath, ["-r", path.join(ROOT, "tools/ts-node-register.js"), path.join(ROOT, "apps", this.kind, "src/main.ts")], {
      env: { ...process.env, ...this.env, [`${this.kind.toUpperCase()}_GRPC_ADDRESS`]: this.address },
      stdio: ["ignore", "pipe", "pipe"],
    });
    mkdirSync(LOG_DIR, { recursive: true });
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.on("data", (chunk: Buffer) => {
        appendFileSync(path.join(LOG_DIR, `${this.name}.log`), chunk);
        this.log.push(chunk.toString());
        if (this.log.length > 200) this.log.shift();
      });
    }
    child.on("exit", (code, signal) => {
      if (!this.expectingExit) this.unexpectedExits.push(`${this.name} exited (${signal ?? code}): ${this.log.slice(-5).join("").slice(-600)}`);
    });
    this.child = child;
  }

  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.expectingExit = true;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.expectingExit = true;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
  }

  async untilServing(timeoutMs = 60_000): Promise<void> {
    await waitUntil(async () => (await checkHealth(this.address).catch(() => "DOWN")) === "SERVING", timeoutMs, `${this.name} SERVING`);
  }
}

export interface Deployment {
  metering: ServiceProcess;
  ratings: ServiceProcess[];
  limits: ServiceProcess;
  all: ServiceProcess[];
}

/** Metering, rating instances and limits, on the private Postgres and NATS cluster (its servers' list and the streams' replica count). */
export async function deploy(databaseUrl: string, nats: { url: string; replicas: number }, ratingInstances: number): Promise<Deployment> {
  const base = {
    DATABASE_URL: databaseUrl,
    NATS_URL: nats.url,
    NATS_STREAM_REPLICAS: String(nats.replicas),
    API_KEYS: TEST_API_KEYS,
    LOG_LEVEL: "warn",
    SHUTDOWN_GRACE_MS: "2000",
  };
  const metering = new ServiceProcess("metering", "metering", await freePort(), base);
  const ratingEnv = { ...base, RATING_METERING_ADDRESS: metering.address, RATING_METERING_API_KEY: TEST_KEYS.all };
  const ratings: ServiceProcess[] = [];
  for (let i = 1; i <= ratingInstances; i++) ratings.push(new ServiceProcess(`rating-${i}`, "rating", await freePort(), ratingEnv));
  const limits = new ServiceProcess("limits", "limits", await freePort(), base);
  const all = [metering, ...ratings, limits];
  metering.start();
  await metering.untilServing();
  for (const s of [...ratings, limits]) s.start();
  await Promise.all(all.map((s) => s.untilServing()));
  return { metering, ratings, limits, all };
}

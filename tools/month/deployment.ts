import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { EventBus, openClockBucket, seenRevision, setSharedTime } from "@tally/platform";
import { TEST_API_KEYS, TEST_KEYS } from "@tally/platform/testing";
import type { KV } from "nats";
import { freePort, PrivateNats, PrivatePostgres, waitUntil } from "../chaos/private-servers";
import { ServiceProcess } from "../chaos/service-processes";

const ROOT = path.resolve(__dirname, "../..");
const STRIPE_SECRET = "sk_test_month_local";
const WEBHOOK_SECRET = "whsec_month_local";

/**
 * The whole platform as processes, the way it is deployed: a private Postgres and NATS (the
 * chaos tool's), stripe-local, and the five services, every one on the shared clock
 * (TALLY_CLOCK=manual). Each process is a ServiceProcess, so a `--chaos` mode can kill -9 and
 * restart any of them (`processes`), and `postgres` / `nats` expose restart and kill.
 */
export class MonthDeployment {
  private constructor(
    readonly postgres: PrivatePostgres,
    readonly nats: PrivateNats,
    private readonly bus: EventBus,
    private readonly clockBucket: KV,
    readonly stripe: ChildProcess,
    readonly processes: Record<"metering" | "rating" | "limits" | "invoicing" | "payments", ServiceProcess>,
  ) {}

  static async start(o: { clockStart: Date; log(line: string): void }): Promise<MonthDeployment> {
    const postgres = await PrivatePostgres.start();
    const nats = await PrivateNats.start();
    const bus = await EventBus.connect({ url: nats.url, name: "tally-month" });
    const clockBucket = await openClockBucket(bus);
    await setSharedTime(clockBucket, o.clockStart);
    o.log(`postgres on ${postgres.port}, nats on ${nats.port}, clock at ${o.clockStart.toISOString()}`);

    const stripePort = await freePort();
    const webhookPort = await freePort();
    const stripe = spawn(process.execPath, ["-r", path.join(ROOT, "tools/ts-node-register.js"), path.join(ROOT, "tools/stripe-local/src/main.ts")], {
      env: { ...process.env, STRIPE_LOCAL_PORT: String(stripePort), STRIPE_LOCAL_WEBHOOK_URL: `http://127.0.0.1:${webhookPort}/stripe/webhooks`, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET },
      stdio: "ignore",
    });

    const base = {
      DATABASE_URL: postgres.url(),
      NATS_URL: nats.url,
      API_KEYS: TEST_API_KEYS,
      LOG_LEVEL: "warn",
      SHUTDOWN_GRACE_MS: "2000",
      TALLY_CLOCK: "manual",
      TALLY_CLOCK_START: o.clockStart.toISOString(),
      DB_POOL_SIZE: "20",
    };
    const metering = new ServiceProcess("metering", "metering", await freePort(), base);
    const upstream = (name: string, p: ServiceProcess) => ({ [`${name}_ADDRESS`]: p.address, [`${name}_API_KEY`]: TEST_KEYS.all });
    const rating = new ServiceProcess("rating", "rating", await freePort(), { ...base, ...upstream("RATING_METERING", metering) });
    const limits = new ServiceProcess("limits", "limits", await freePort(), base);
    const invoicing = new ServiceProcess("invoicing", "invoicing", await freePort(), {
      ...base,
      ...upstream("INVOICING_RATING", rating),
      ...upstream("INVOICING_LIMITS", limits),
      ...upstream("INVOICING_METERING", metering),
      INVOICING_CYCLE_INTERVAL_MS: "500",
    });
    const payments = new ServiceProcess("payments", "payments", await freePort(), {
      ...base,
      STRIPE_SECRET_KEY: STRIPE_SECRET,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_BASE: `http://127.0.0.1:${stripePort}`,
      PAYMENTS_WEBHOOK_ADDRESS: `127.0.0.1:${webhookPort}`,
      PAYMENTS_SWEEP_INTERVAL_MS: "200",
    });
    const processes = { metering, rating, limits, invoicing, payments };
    metering.start();
    await metering.untilServing(120_000);
    for (const p of [rating, limits, invoicing, payments]) p.start();
    await Promise.all(Object.values(processes).map((p) => p.untilServing(120_000)));
    return new MonthDeployment(postgres, nats, bus, clockBucket, stripe, processes);
  }

  get all(): ServiceProcess[] {
    return Object.values(this.processes);
  }

  /** Moves every service to `time` and returns once each process has applied it. */
  async setTime(time: Date): Promise<void> {
    const revision = await setSharedTime(this.clockBucket, time);
    await waitUntil(async () => {
      for (const p of this.all) if ((await seenRevision(this.clockBucket, p.address)) < revision) return false;
      return true;
    }, 60_000, `every service at ${time.toISOString()}`);
  }

  /** Every JetStream consumer has handed out and seen acknowledged everything stored: the services are quiet. */
  async untilQuiet(timeoutMs = 300_000): Promise<void> {
    const jsm = await this.bus.connection.jetstreamManager();
    let busy = "";
    await waitUntil(async () => {
      for await (const stream of jsm.streams.list()) {
        if (stream.config.name.startsWith("KV_")) continue;
        for await (const c of jsm.consumers.list(stream.config.name)) {
          if (c.num_pending > 0 || c.num_ack_pending > 0) {
            busy = `${stream.config.name}/${c.name}: ${c.num_pending} pending, ${c.num_ack_pending} unacknowledged`;
            return false;
          }
        }
      }
      return true;
    }, timeoutMs, `consumers to drain (${busy})`).catch((err: unknown) => {
      throw new Error(`${String(err)}; last busy: ${busy}`);
    });
  }

  /** CPU seconds (user + system) each service process has used so far (Linux /proc). */
  cpuSeconds(): Record<string, number> {
    const ticks = 100; // USER_HZ on Linux
    const out: Record<string, number> = {};
    for (const p of this.all) {
      if (!p.pid) continue;
      const fields = readFileSync(`/proc/${p.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      out[p.name] = (Number(fields[11]) + Number(fields[12])) / ticks;
    }
    return out;
  }

  async stop(): Promise<void> {
    for (const p of this.all.reverse()) await p.stop();
    this.stripe.kill("SIGTERM");
    await this.bus.close();
    await this.nats.stop();
    await this.postgres.stop();
  }
}

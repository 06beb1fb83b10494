import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { EventBus, openClockBucket, seenRevision, setSharedTime } from "@tally/platform";
import { TEST_API_KEYS, TEST_KEYS } from "@tally/platform/testing";
import type { KV } from "nats";
import { freePort, PrivateNats, PrivatePostgres, waitUntil } from "../chaos/private-servers";
import { ServiceProcess } from "../chaos/service-processes";
import { startNatsCluster, type NatsCluster } from "../nats-cluster/nats-cluster";

const ROOT = path.resolve(__dirname, "../..");
const STRIPE_SECRET = "sk_test_month_local";
const WEBHOOK_SECRET = "whsec_month_local";

export type ServiceName = "metering" | "rating" | "limits" | "invoicing" | "payments";

/** The chaos run's shape: a 3-node NATS cluster (streams at 3 replicas) and more than one instance of the scaled-out services. */
export interface DeploymentShape {
  /** NATS nodes: 1 is a single private server; more is a cluster on loopback with every stream replicated on each node. */
  natsNodes: number;
  /** Instances of rating and invoicing (the services that share their work through JetStream and SKIP LOCKED). */
  ratingInstances: number;
  invoicingInstances: number;
}

export const SINGLE: DeploymentShape = { natsNodes: 1, ratingInstances: 1, invoicingInstances: 1 };

/**
 * The whole platform as processes, the way it is deployed: a private Postgres and NATS (the
 * chaos tool's; a 3-node cluster for `--chaos`), stripe-local, and the five services (rating and
 * invoicing in several instances for `--chaos`), every one on the shared clock
 * (TALLY_CLOCK=manual). Each process is a ServiceProcess, so a `--chaos` mode can kill -9 and
 * restart any of them (`all`), and `postgres` / `nats` / `cluster` expose restart and kill.
 */
export class MonthDeployment {
  private constructor(
    readonly postgres: PrivatePostgres,
    /** The single NATS server, or undefined on a cluster. */
    readonly nats: PrivateNats | undefined,
    /** The NATS cluster, or undefined on a single server. */
    readonly cluster: NatsCluster | undefined,
    private readonly bus: EventBus,
    private readonly clockBucket: KV,
    readonly stripe: ChildProcess,
    /** stripe-local's base URL (its control endpoints take faults: POST /_stripe_local/faults). */
    readonly stripeUrl: string,
    /** The first instance of each service: what the others are wired to by default. */
    readonly processes: Record<ServiceName, ServiceProcess>,
    /** Every instance of each service, the first one included. */
    readonly instances: Record<ServiceName, ServiceProcess[]>,
  ) {}

  static async start(o: { clockStart: Date; log(line: string): void; shape?: DeploymentShape }): Promise<MonthDeployment> {
    const shape = o.shape ?? SINGLE;
    const postgres = await PrivatePostgres.start();
    const nats = shape.natsNodes > 1 ? undefined : await PrivateNats.start();
    const cluster = shape.natsNodes > 1 ? await startNatsCluster({ size: shape.natsNodes }) : undefined;
    const natsUrl = cluster ? cluster.servers.join(",") : nats!.url;
    const bus = await EventBus.connect({ url: natsUrl, name: "tally-month", replicas: shape.natsNodes });
    const clockBucket = await openClockBucket(bus);
    await setSharedTime(clockBucket, o.clockStart);
    o.log(`postgres on ${postgres.port}, nats on ${natsUrl}${cluster ? ` (streams at ${shape.natsNodes} replicas)` : ""}, clock at ${o.clockStart.toISOString()}`);

    const stripePort = await freePort();
    const webhookPort = await freePort();
    const stripe = spawn(process.execPath, ["-r", path.join(ROOT, "tools/ts-node-register.js"), path.join(ROOT, "tools/stripe-local/src/main.ts")], {
      env: { ...process.env, STRIPE_LOCAL_PORT: String(stripePort), STRIPE_LOCAL_WEBHOOK_URL: `http://127.0.0.1:${webhookPort}/stripe/webhooks`, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET },
      stdio: "ignore",
    });

    const base = {
      DATABASE_URL: postgres.url(),
      NATS_URL: natsUrl,
      ...(cluster && { NATS_STREAM_REPLICAS: String(shape.natsNodes) }),
      API_KEYS: TEST_API_KEYS,
      LOG_LEVEL: "warn",
      SHUTDOWN_GRACE_MS: "2000",
      TALLY_CLOCK: "manual",
      TALLY_CLOCK_START: o.clockStart.toISOString(),
      DB_POOL_SIZE: "20",
    };
    const metering = new ServiceProcess("metering", "metering", await freePort(), base);
    const upstream = (name: string, p: ServiceProcess) => ({ [`${name}_ADDRESS`]: p.address, [`${name}_API_KEY`]: TEST_KEYS.all });
    const named = (kind: ServiceName, i: number, count: number) => (count > 1 ? `${kind}-${i + 1}` : kind);
    const ratings: ServiceProcess[] = [];
    for (let i = 0; i < shape.ratingInstances; i++) ratings.push(new ServiceProcess(named("rating", i, shape.ratingInstances), "rating", await freePort(), { ...base, ...upstream("RATING_METERING", metering) }));
    const limits = new ServiceProcess("limits", "limits", await freePort(), base);
    const invoicings: ServiceProcess[] = [];
    for (let i = 0; i < shape.invoicingInstances; i++) {
      invoicings.push(
        new ServiceProcess(named("invoicing", i, shape.invoicingInstances), "invoicing", await freePort(), {
          ...base,
          // Each invoicing instance asks its own rating instance (spread, as behind a load balancer).
          ...upstream("INVOICING_RATING", ratings[i % ratings.length]!),
          ...upstream("INVOICING_LIMITS", limits),
          ...upstream("INVOICING_METERING", metering),
          INVOICING_CYCLE_INTERVAL_MS: "500",
        }),
      );
    }
    const payments = new ServiceProcess("payments", "payments", await freePort(), {
      ...base,
      STRIPE_SECRET_KEY: STRIPE_SECRET,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_BASE: `http://127.0.0.1:${stripePort}`,
      PAYMENTS_WEBHOOK_ADDRESS: `127.0.0.1:${webhookPort}`,
      PAYMENTS_SWEEP_INTERVAL_MS: "200",
    });
    const instances: Record<ServiceName, ServiceProcess[]> = { metering: [metering], rating: ratings, limits: [limits], invoicing: invoicings, payments: [payments] };
    const processes = { metering, rating: ratings[0]!, limits, invoicing: invoicings[0]!, payments };
    const all = Object.values(instances).flat();
    metering.start();
    await metering.untilServing(120_000);
    for (const p of all.filter((x) => x !== metering)) p.start();
    await Promise.all(all.map((p) => p.untilServing(120_000)));
    return new MonthDeployment(postgres, nats, cluster, bus, clockBucket, stripe, `http://127.0.0.1:${stripePort}`, processes, instances);
  }

  get all(): ServiceProcess[] {
    return Object.values(this.instances).flat();
  }

  /** Moves every service to `time` and returns once each process has applied it (NATS failing over meanwhile is waited out). */
  async setTime(time: Date, timeoutMs = 180_000): Promise<void> {
    let revision = 0;
    await waitUntil(async () => {
      revision = await setSharedTime(this.clockBucket, time).catch(() => 0);
      return revision > 0;
    }, timeoutMs, `the clock set to ${time.toISOString()}`);
    let behind = "";
    await waitUntil(async () => {
      for (const p of this.all) {
        if ((await seenRevision(this.clockBucket, p.address).catch(() => -1)) < revision) {
          behind = p.name;
          return false;
        }
      }
      return true;
    }, timeoutMs, `every service at ${time.toISOString()}`).catch((err: unknown) => {
      throw new Error(`${String(err)}; last behind: ${behind}`);
    });
  }

  /**
   * The first JetStream consumer (stream/durable) with messages not yet handed out or not yet
   * acknowledged, or undefined when every one is drained; "nats: …" when NATS could not say.
   */
  async busyConsumer(): Promise<string | undefined> {
    try {
      const jsm = await this.bus.connection.jetstreamManager();
      for await (const stream of jsm.streams.list()) {
        if (stream.config.name.startsWith("KV_")) continue;
        for await (const c of jsm.consumers.list(stream.config.name)) {
          if (c.num_pending > 0 || c.num_ack_pending > 0) return `${stream.config.name}/${c.name}: ${c.num_pending} pending, ${c.num_ack_pending} unacknowledged`;
        }
      }
      return undefined;
    } catch (err) {
      return `nats: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  /** Each stream's last sequence (KV buckets left out): a service's outbox has published once its stream grew. */
  async streamSequences(): Promise<Record<string, number>> {
    const jsm = await this.bus.connection.jetstreamManager();
    const out: Record<string, number> = {};
    for await (const stream of jsm.streams.list()) if (!stream.config.name.startsWith("KV_")) out[stream.config.name] = stream.state.last_seq;
    return out;
  }

  /**
   * Until `service`'s stream holds more than it did in `before`: what it acknowledged to a caller
   * (committed with its outbox) has been published. A quiet check alone cannot see a message
   * still in an outbox.
   */
  async untilPublished(service: "metering" | "rating", before: Record<string, number>, timeoutMs = 120_000): Promise<void> {
    const name = Object.keys(before).find((n) => n.endsWith(`_${service.toUpperCase()}`)) ?? `TALLY_${service.toUpperCase()}`;
    await waitUntil(async () => ((await this.streamSequences().catch(() => ({}) as Record<string, number>))[name] ?? 0) > (before[name] ?? 0), timeoutMs, `${service} to publish to ${name}`);
  }

  /** Every JetStream consumer has handed out and seen acknowledged everything stored: the services are quiet. */
  async untilQuiet(timeoutMs = 300_000): Promise<void> {
    let busy: string | undefined = "";
    await waitUntil(async () => (busy = await this.busyConsumer()) === undefined, timeoutMs, "consumers to drain").catch((err: unknown) => {
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
    await this.nats?.stop();
    await this.cluster?.stop();
    await this.postgres.stop();
  }
}

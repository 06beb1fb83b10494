import { checkHealth } from "@tally/platform/testing";
import type { ServiceProcess } from "../chaos/service-processes";
import type { DeploymentShape, MonthDeployment } from "./deployment";
import type { ChaosHook } from "./month-run";
import { MONTH, seededRandom } from "./scenario";

/** One row of the fault table: what was done, when, and how long the deployment took to be whole again. */
export interface FaultRecord {
  /** Where in the run: the month's tick (shared-clock time) or the phase. */
  at: string;
  /** Seconds since the chaos hook was armed (the start of the month phase). */
  wallSeconds: number;
  what: string;
  /** From the fault until every service instance answered SERVING (and every running NATS node was healthy); null: never. */
  readySeconds: number | null;
  /** From the fault until every JetStream consumer was drained as well (the backlog worked off); null: never. */
  drainedSeconds: number | null;
  /** Instances seen not SERVING (DOWN: not answering) while the deployment recovered: the services report not-ready meanwhile. */
  notReadySeen: string[];
  /** Processes, other than the one the fault itself killed and restarted, that had to be restarted by hand: must be none. */
  manualRestarts: string[];
}

/** How long a service may take to serve again (or a backlog to drain) before the harness restarts it by hand and says so. */
const READY_LIMIT_MS = 120_000;
const DRAIN_LIMIT_MS = 180_000;

export interface Planned {
  /** Tick index in the month (day × ticksPerDay + tick). */
  tick: number;
  /** Milliseconds into the tick's load (its events are going out) when the fault strikes. */
  delayMs: number;
  kind: "kill" | "nats-kill" | "nats-restart" | "postgres-restart";
  /** The process name for `kill`, the node index for NATS. */
  target: string;
}

export interface MonthChaosOptions {
  seed: number;
  ticksPerDay: number;
  days: number;
  /** Process names (ServiceProcess.name) to kill -9, each `killsPerProcess` times during the month. */
  processes: string[];
  killsPerProcess: number;
  /** Customers in the month: the provider's fault counts scale with them. */
  customers: number;
  log(line: string): void;
}

/**
 * `npm run month -- --chaos`: faults at seeded random moments while the month runs (see
 * tools/month/README.md). Each fault is injected while a tick's events are going out; the harness
 * restarts what it killed at once, as a supervisor would, and then watches, without touching
 * anything else, until every instance serves and every consumer has drained. A service that does
 * not come back on its own within the limits is restarted by hand and named in `manualRestarts`,
 * which fails the run. Faults never overlap: the next waits until the last has been measured.
 */
export class MonthChaos implements ChaosHook {
  readonly records: FaultRecord[] = [];
  private readonly plan: Planned[];
  private readonly random: () => number;
  private watching: Promise<void> = Promise.resolve();
  private provider: Promise<void> = Promise.resolve();
  private phasesOver = false;
  private armedAt = 0;
  /** The stripe-local faults set before the close, for the table once they have been served. */
  private providerFaults = { errors: 0, lost: 0 };

  constructor(private readonly o: MonthChaosOptions) {
    this.random = seededRandom(o.seed * 7919 + 16);
    this.plan = planFaults(o, this.random);
  }

  /** The planned faults, in order, for the log. */
  describePlan(): string[] {
    return this.plan.map((p) => `${tickTime(p.tick, this.o.ticksPerDay)} +${p.delayMs} ms: ${p.kind} ${p.target}`);
  }

  async beforeTick(): Promise<void> {
    if (!this.armedAt) this.armedAt = Date.now();
    await this.watching;
  }

  underLoad(d: MonthDeployment, at: { day: number; tick: number; time: Date }): void {
    const index = at.day * this.o.ticksPerDay + at.tick;
    for (const p of this.plan.filter((x) => x.tick === index)) this.strike(d, at.time.toISOString().slice(5, 16).replace("T", " "), p.delayMs, describe(p), () => inject(d, p));
  }

  async beforePhase(d: MonthDeployment, phase: string): Promise<void> {
    await this.watching;
    const r = this.random;
    if (phase === "close") {
      // For a while, the provider answers 500 before charging, then charges and loses the answer
      // (twice for each: the stripe client retries a dropped connection once by itself).
      this.providerFaults = { errors: Math.max(3, Math.round(this.o.customers * 0.1)), lost: Math.max(2, Math.round(this.o.customers * 0.05)) };
      this.watchProvider(d);
      await this.watching;
      this.strike(d, "close", Math.round(500 + r() * 2000), `kill -9 ${this.instanceOf(d, "invoicing", 1).name} (closing the period)`, () => killAndRestart(this.instanceOf(d, "invoicing", 1)));
    } else if (phase === "payments") {
      this.strike(d, "payments", Math.round(200 + r() * 1000), `kill -9 ${d.processes.payments.name} (collecting)`, () => killAndRestart(d.processes.payments));
      await this.watching;
      this.strike(d, "payments", Math.round(200 + r() * 1000), `kill -9 ${this.instanceOf(d, "invoicing", 0).name} (collecting)`, () => killAndRestart(this.instanceOf(d, "invoicing", 0)));
    } else if (phase === "reconciliation") {
      this.phasesOver = true;
      await this.provider;
    }
  }

  /** Every fault's measurement is over (the run's verdict needs them). */
  async settled(): Promise<void> {
    this.phasesOver = true;
    await this.watching;
    await this.provider;
    this.records.sort((a, b) => a.wallSeconds - b.wallSeconds);
  }

  failures(): string[] {
    const f: string[] = [];
    for (const r of this.records) {
      if (r.readySeconds === null) f.push(`after "${r.what}" not every service served again`);
      if (r.drainedSeconds === null) f.push(`after "${r.what}" the backlog never drained`);
      if (r.manualRestarts.length > 0) f.push(`after "${r.what}" ${r.manualRestarts.join(", ")} needed a manual restart`);
    }
    return f;
  }

  private instanceOf(d: MonthDeployment, kind: "invoicing" | "rating", i: number): ServiceProcess {
    const all = d.instances[kind];
    return all[i % all.length]!;
  }

  /** Injects a fault `delayMs` from now, in the background, and measures its recovery; the next fault waits for this one. */
  private strike(d: MonthDeployment, at: string, delayMs: number, what: string, inject: () => Promise<ServiceProcess | undefined | void>): void {
    const previous = this.watching;
    this.watching = previous.then(async () => {
      await sleep(delayMs);
      const started = Date.now();
      this.o.log(`chaos: ${what}`);
      let restarted: ServiceProcess | undefined;
      try {
        restarted = (await inject()) ?? undefined;
      } catch (err) {
        this.o.log(`chaos: injecting "${what}" failed: ${String(err)}`);
      }
      const record = await watchRecovery(d, started, restarted);
      this.records.push({ at, wallSeconds: round((started - this.armedAt) / 1000), what, ...record });
      this.o.log(`chaos: ${what}: ready in ${record.readySeconds ?? "never"} s, drained in ${record.drainedSeconds ?? "never"} s${record.manualRestarts.length ? `, MANUAL RESTART of ${record.manualRestarts.join(", ")}` : ""}`);
    });
  }

  /**
   * The provider's faults, set once (they strike as the finalized invoices are collected and
   * retried by dunning): "ready" is when the last of them was served, "drained" when every
   * consumer was drained after that. Not served by the reconciliation phase: noted in the row.
   */
  private watchProvider(d: MonthDeployment): void {
    const { errors, lost } = this.providerFaults;
    const what = `stripe-local: 500 on the next ${errors} PaymentIntent requests, then ${lost} charges made and their answers lost`;
    this.provider = (async () => {
      const started = Date.now();
      this.o.log(`chaos: ${what}`);
      await setProviderFaults(d, [
        { action: "error_500", method: "POST", path: "/v1/payment_intents", times: errors },
        // Twice each: the stripe client retries a dropped connection once by itself, so only every second loss is really lost.
        { action: "lose_response", method: "POST", path: "/v1/payment_intents", times: lost * 2 },
      ]);
      let pending = await providerFaultsPending(d);
      while (pending > 0 && !this.phasesOver) {
        await sleep(250);
        pending = await providerFaultsPending(d);
      }
      const served = Date.now();
      const record = pending > 0 ? { readySeconds: null, drainedSeconds: null, notReadySeen: [], manualRestarts: [] } : await watchRecovery(d, started, undefined);
      this.records.push({ at: "close → payments", wallSeconds: round((started - this.armedAt) / 1000), what: pending > 0 ? `${what} (${pending} never served)` : what, ...record });
      this.o.log(`chaos: provider faults served after ${round((served - started) / 1000)} s, drained in ${record.drainedSeconds ?? "never"} s`);
    })();
  }
}

/** The month's faults: each process killed `killsPerProcess` times, one NATS node killed and restarted two ticks later, one Postgres restart; distinct seeded ticks. */
export function planFaults(o: MonthChaosOptions, r: () => number): Planned[] {
  const ticks = o.days * o.ticksPerDay;
  // Not the very first ticks (the catalog settles) nor the last two (the close follows).
  const free = Array.from({ length: Math.max(0, ticks - 4) }, (_, i) => i + 2);
  const take = () => {
    if (free.length === 0) throw new Error("more faults than ticks: use more --ticks-per-day");
    return free.splice(Math.floor(r() * free.length), 1)[0]!;
  };
  const delay = () => Math.round(r() * 400);
  const plan: Planned[] = [];
  for (let k = 0; k < o.killsPerProcess; k++) for (const name of o.processes) plan.push({ tick: take(), delayMs: delay(), kind: "kill", target: name });
  plan.push({ tick: take(), delayMs: delay(), kind: "postgres-restart", target: "postgres" });
  // The node's return comes two ticks after its loss, under load too: the two ticks between run on two nodes.
  const node = String(Math.floor(r() * 3));
  const candidates = free.filter((t) => free.includes(t + 2));
  if (candidates.length === 0) throw new Error("more faults than ticks: use more --ticks-per-day");
  const killTick = candidates[Math.floor(r() * candidates.length)]!;
  free.splice(free.indexOf(killTick), 1);
  free.splice(free.indexOf(killTick + 2), 1);
  plan.push({ tick: killTick, delayMs: delay(), kind: "nats-kill", target: node }, { tick: killTick + 2, delayMs: delay(), kind: "nats-restart", target: node });
  return plan.sort((a, b) => a.tick - b.tick);
}

function describe(p: Planned): string {
  switch (p.kind) {
    case "kill":
      return `kill -9 ${p.target}`;
    case "nats-kill":
      return `kill -9 NATS node ${Number(p.target) + 1}/3`;
    case "nats-restart":
      return `restart NATS node ${Number(p.target) + 1}/3 (same store)`;
    case "postgres-restart":
      return "restart Postgres (pg_ctl restart -m fast)";
  }
}

async function inject(d: MonthDeployment, p: Planned): Promise<ServiceProcess | undefined> {
  switch (p.kind) {
    case "kill": {
      const target = d.all.find((x) => x.name === p.target);
      if (!target) throw new Error(`no process ${p.target}`);
      return killAndRestart(target);
    }
    case "nats-kill":
      if (!d.cluster) throw new Error("a NATS node's loss needs the cluster");
      await d.cluster.kill(Number(p.target));
      return undefined;
    case "nats-restart":
      // Resolves once the node reports healthy: caught up on every stream and consumer.
      await d.cluster!.restart(Number(p.target));
      return undefined;
    case "postgres-restart":
      await d.postgres.restart();
      return undefined;
  }
}

/** kill -9, then started again at once on the same port, as a supervisor would. */
async function killAndRestart(p: ServiceProcess): Promise<ServiceProcess> {
  await p.kill9();
  p.start();
  return p;
}

/**
 * From `started`: until every instance serves (and every running NATS node is healthy), then until
 * every consumer is drained. Nothing is restarted meanwhile; past the limits, what still does not
 * serve (or the service owning a stuck consumer) is restarted by hand and named.
 */
async function watchRecovery(d: MonthDeployment, started: number, restartedByFault: ServiceProcess | undefined): Promise<Omit<FaultRecord, "at" | "wallSeconds" | "what">> {
  const manualRestarts: string[] = [];
  const seen = new Set<string>();
  const notServing = async () => {
    const states = await Promise.all(
      d.all.map(async (p) => {
        const state = await checkHealth(p.address).catch(() => "DOWN");
        if (state === "SERVING") return undefined;
        seen.add(`${p.name} ${state === "DOWN" ? "down" : "not serving"}`);
        return p;
      }),
    );
    return states.filter((p): p is ServiceProcess => p !== undefined);
  };
  const natsHealthy = async () => (d.cluster ? d.cluster.untilHealthy(1).then(() => true, () => false) : true);
  let readySeconds: number | null = null;
  const readyBy = started + READY_LIMIT_MS;
  for (;;) {
    const down = await notServing();
    if (down.length === 0 && (await natsHealthy())) {
      readySeconds = round((Date.now() - started) / 1000);
      break;
    }
    if (Date.now() > readyBy) {
      for (const p of down) {
        manualRestarts.push(p === restartedByFault ? `${p.name} (the killed one: never served after its restart)` : p.name);
        await p.kill9();
        p.start();
      }
      await Promise.all(down.map((p) => p.untilServing(READY_LIMIT_MS).catch(() => undefined)));
      break;
    }
    await sleep(100);
  }
  let drainedSeconds: number | null = null;
  const drainBy = Date.now() + DRAIN_LIMIT_MS;
  let restartedForBacklog = false;
  for (;;) {
    const busy = await d.busyConsumer();
    if (busy === undefined) {
      drainedSeconds = round((Date.now() - started) / 1000);
      break;
    }
    if (Date.now() > drainBy) {
      if (restartedForBacklog) break;
      // The service whose consumer is stuck (durables are named after their service: rating-usage, invoicing, …).
      const kind = ["metering", "rating", "limits", "invoicing", "payments"].find((k) => busy.split("/")[1]?.startsWith(k));
      const owners = kind ? d.instances[kind as keyof MonthDeployment["instances"]] : [];
      manualRestarts.push(`${owners.map((p) => p.name).join(", ") || "nothing to restart"} (stuck: ${busy})`);
      for (const p of owners) {
        await p.kill9();
        p.start();
      }
      restartedForBacklog = true;
    }
    await sleep(250);
  }
  if (readySeconds === null && manualRestarts.length === 0) manualRestarts.push("(none served)");
  return { readySeconds, drainedSeconds, notReadySeen: [...seen].sort(), manualRestarts };
}

async function setProviderFaults(d: MonthDeployment, faults: Record<string, unknown>[]): Promise<void> {
  const res = await fetch(`${d.stripeUrl}/_stripe_local/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ faults }) });
  if (!res.ok) throw new Error(`stripe-local refused the faults: ${res.status}`);
}

async function providerFaultsPending(d: MonthDeployment): Promise<number> {
  const res = await fetch(`${d.stripeUrl}/_stripe_local/faults/pending`, { method: "POST" });
  const body = (await res.json()) as { pending: { times: number }[] };
  return body.pending.reduce((n, f) => n + f.times, 0);
}

function tickTime(tick: number, ticksPerDay: number): string {
  const day = Math.floor(tick / ticksPerDay) + 1;
  const hour = ((tick % ticksPerDay) * 24) / ticksPerDay;
  return `day ${day} ${String(hour).padStart(2, "0")}:00`;
}

const round = (x: number) => Math.round(x * 10) / 10;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The chaos run's deployment: a 3-node NATS cluster (streams at 3 replicas), two rating and two invoicing instances. */
export const CHAOS_SHAPE: DeploymentShape = { natsNodes: 3, ratingInstances: 2, invoicingInstances: 2 };

/** The chaos hook for a month of CHAOS_SHAPE: every process of it killed `killsPerProcess` times, and the rest (see MonthChaos). */
export function monthChaos(o: { seed: number; customers: number; ticksPerDay: number; killsPerProcess: number; log(line: string): void }): MonthChaos {
  const names = (kind: string, n: number) => (n > 1 ? Array.from({ length: n }, (_, i) => `${kind}-${i + 1}`) : [kind]);
  const processes = ["metering", ...names("rating", CHAOS_SHAPE.ratingInstances), "limits", ...names("invoicing", CHAOS_SHAPE.invoicingInstances), "payments"];
  return new MonthChaos({ ...o, days: MONTH.days, processes });
}

/** The fault table, as printed. */
export function formatFaultTable(records: FaultRecord[]): string[] {
  const head = ["when (month / phase)", "t (s)", "fault", "ready (s)", "drained (s)", "seen not ready", "manual restart"];
  const rows = records.map((r) => [
    r.at,
    r.wallSeconds.toFixed(1),
    r.what,
    r.readySeconds?.toFixed(1) ?? "never",
    r.drainedSeconds?.toFixed(1) ?? "never",
    (r.notReadySeen ?? []).join(", ") || "-",
    r.manualRestarts.join("; ") || "none",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i]!)).join("  ")}`.trimEnd();
  return [line(head), ...rows.map(line)];
}

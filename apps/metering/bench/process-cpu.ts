import * as fs from "node:fs";

/**
 * CPU time (ms) spent over a phase by every process that serves ingest: this process (the
 * servers), the load generator, EVERY process of the Postgres cluster (backends, WAL writer,
 * checkpointer, background writer, autovacuum…) and the nats-server it publishes to. Only counting our
 * database's backends, as this benchmark once did, missed the WAL writer's and checkpointer's
 * share of each commit.
 *
 * Postgres children come and go (autovacuum workers, other clients' connections), and a process
 * that exits between two samples takes its last ticks with it. So the children are sampled
 * every SAMPLE_MS to attribute CPU to a kind of process, and the exact cluster total comes from
 * the postmaster: its own time plus the time of the children it has reaped (cutime/cstime) plus
 * that of the live ones. What sampling could not attribute is printed as "exited".
 */
const TICK_MS = 1000 / 100; // USER_HZ
const SAMPLE_MS = 200;

interface ProcStat {
  ppid: number;
  /** utime + stime */
  own: number;
  /** cutime + cstime: reaped children */
  children: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(f[1]), own: (Number(f[11]) + Number(f[12])) * TICK_MS, children: (Number(f[13]) + Number(f[14])) * TICK_MS };
  } catch {
    return undefined; // gone
  }
}

export function processCpuMs(pid: number): number {
  return readStat(pid)?.own ?? 0;
}

function pidsNamed(comm: string): number[] {
  return fs
    .readdirSync("/proc")
    .filter((d) => /^[0-9]+$/.test(d))
    .filter((d) => {
      try {
        return fs.readFileSync(`/proc/${d}/comm`, "utf8").trim() === comm;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The inodes of the sockets listening on `port` (state 0A), from /proc/net/tcp and tcp6. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = fs.readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const row of text.split("\n").slice(1)) {
      const f = row.trim().split(/\s+/);
      if (f[1]?.endsWith(`:${hexPort}`) && f[3] === "0A") inodes.add(f[9]!);
    }
  }
  return inodes;
}

/**
 * The nats-server listening on `port`: other nats-servers on the machine (a chaos harness's
 * private one) are not ours to count, and may exit mid-phase.
 */
export function natsServerOn(port: number): number[] {
  const inodes = listeningInodes(port);
  return pidsNamed("nats-server").filter((pid) => {
    try {
      return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
          return m !== null && inodes.has(m[1]!);
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  });
}

/** "postgres: 15/main: walwriter" → "walwriter"; a backend → "backends (this database)" or "backends (other databases)". */
function postgresKind(pid: number, database: string): string {
  let title: string;
  try {
    title = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
  } catch {
    return "exited";
  }
  const rest = title.replace(/^postgres: (?:[^:]+: )?/, "");
  for (const aux of ["walwriter", "checkpointer", "background writer", "autovacuum launcher", "autovacuum worker", "logical replication launcher", "archiver", "startup"]) {
    if (rest.startsWith(aux)) return aux;
  }
  // A backend: "<user> <database> <host> <activity>"
  const [, db] = rest.split(" ");
  return db === database ? "backends (this database)" : "backends (other databases)";
}

/** Postgres CPU no sample saw: processes that lived less than SAMPLE_MS (with autovacuum off, other clients' short connections), and the postmaster. */
export const EXITED = "postgres exited between samples, or postmaster";
/** Other clients of a shared cluster: not ours to count. */
export const OTHER_DATABASES = "postgres backends (other databases)";

export interface PhaseCpu {
  /** ms per process kind; Postgres kinds are prefixed "postgres " */
  byKind: Map<string, number>;
  server: number;
  load: number;
  nats: number;
  /** all Postgres processes, exact (includes EXITED and OTHER_DATABASES) */
  postgresTotal: number;
  /** ms this process spent sampling (already taken out of `server`) */
  samplerCost: number;
}

export class PhaseCpuMeter {
  private readonly first = new Map<number, { kind: string; cpu: number }>();
  private readonly last = new Map<number, number>();
  private timer?: NodeJS.Timeout;
  private startTotals = { server: 0, load: 0, nats: 0, postgres: 0 };
  private samplerCost = 0;
  private started = false;

  constructor(
    private readonly postmasterPid: number,
    private readonly database: string,
    private readonly loadPid: number,
    private readonly natsPids: number[],
    private readonly sampleMs = SAMPLE_MS,
  ) {}

  private children(): number[] {
    try {
      return fs.readFileSync(`/proc/${this.postmasterPid}/task/${this.postmasterPid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  /** Records every live child's CPU; a child first seen after the start was born during the phase. */
  private sample(): number {
    const t0 = process.cpuUsage();
    let live = 0;
    for (const pid of this.children()) {
      const s = readStat(pid);
      if (!s) continue;
      if (!this.first.has(pid)) this.first.set(pid, { kind: postgresKind(pid, this.database), cpu: this.started ? 0 : s.own });
      this.last.set(pid, s.own);
      live += s.own;
    }
    const pm = readStat(this.postmasterPid);
    const spent = process.cpuUsage(t0);
    this.samplerCost += (spent.user + spent.system) / 1000;
    return live + (pm ? pm.own + pm.children : 0);
  }

  private natsCpu(): number {
    return this.natsPids.reduce((sum, pid) => sum + processCpuMs(pid), 0);
  }

  start(): void {
    const postgres = this.sample();
    this.started = true;
    const u = process.cpuUsage();
    this.startTotals = { server: (u.user + u.system) / 1000, load: processCpuMs(this.loadPid), nats: this.natsCpu(), postgres };
    this.timer = setInterval(() => this.sample(), this.sampleMs);
  }

  stop(): PhaseCpu {
    clearInterval(this.timer);
    const postgresTotal = this.sample() - this.startTotals.postgres;
    const u = process.cpuUsage();
    const byKind = new Map<string, number>();
    let attributed = 0;
    for (const [pid, { kind, cpu }] of this.first) {
      const ms = this.last.get(pid)! - cpu;
      byKind.set(`postgres ${kind}`, (byKind.get(`postgres ${kind}`) ?? 0) + ms);
      attributed += ms;
    }
    byKind.set(EXITED, postgresTotal - attributed);
    return {
      byKind,
      server: (u.user + u.system) / 1000 - this.startTotals.server - this.samplerCost,
      load: processCpuMs(this.loadPid) - this.startTotals.load,
      nats: this.natsCpu() - this.startTotals.nats,
      postgresTotal,
      samplerCost: this.samplerCost,
    };
  }
}

/** The postmaster is the parent of any backend, e.g. of the one answering `pg_backend_pid()`. */
export function postmasterOf(backendPid: number): number {
  const s = readStat(backendPid);
  if (!s) throw new Error(`no /proc/${backendPid}/stat: is Postgres on this machine?`);
  return s.ppid;
}

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Postgres refuses to run as root: as root, its tools run as the `postgres` user. */
const asPostgres = (cmd: string, args: string[]) => (process.getuid?.() === 0 ? run("runuser", ["-u", "postgres", "--", cmd, ...args]) : run(cmd, args));

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A Postgres cluster of the chaos run's own (initdb in a temporary directory, its own port),
 * so restarting and crashing it never touches the developer's server.
 */
export class PrivatePostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async start(): Promise<PrivatePostgres> {
    const root = mkdtempSync(path.join(tmpdir(), "tally-chaos-pg-"));
    chmodSync(root, 0o755);
    const dir = path.join(root, "data");
    mkdirSync(dir);
    if (process.getuid?.() === 0) {
      const { stdout } = await run("id", ["-u", "postgres"]);
      const { stdout: gid } = await run("id", ["-g", "postgres"]);
      chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
    }
    await asPostgres("initdb", ["-D", dir, "--auth=trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
    const pg = new PrivatePostgres(dir, await freePort());
    await pg.startServer();
    return pg;
  }

  url(database = "postgres"): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async startServer(): Promise<void> {
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${this.dir} -c max_connections=200`;
    await asPostgres("pg_ctl", ["-D", this.dir, "-o", options, "-l", path.join(this.dir, "server.log"), "-w", "-t", "60", "start"]);
  }

  /** `pg_ctl restart -m fast`: every connection is cut with 57P01, as in a planned restart. */
  async restart(): Promise<void> {
    await asPostgres("pg_ctl", ["-D", this.dir, "-m", "fast", "-w", "stop"]);
    await this.startServer();
  }

  /** kill -9 of the postmaster and its backends (what is not yet written to the WAL is lost), then start: crash recovery. */
  async crash(): Promise<void> {
    const pid = Number(readFileSync(path.join(this.dir, "postmaster.pid"), "utf8").split("\n")[0]);
    const { stdout } = await run("pgrep", ["-P", String(pid)]).catch(() => ({ stdout: "" }));
    for (const p of [pid, ...stdout.split("\n").filter(Boolean).map(Number)]) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await waitUntil(() => !isAlive(pid), 10_000);
    await this.startServer();
  }

  async stop(): Promise<void> {
    await asPostgres("pg_ctl", ["-D", this.dir, "-m", "immediate", "-w", "stop"]).catch(() => undefined);
    rmSync(path.dirname(this.dir), { recursive: true, force: true });
  }
}

/** A nats-server with JetStream of the run's own; killed with -9 and restarted on the same store. */
export class PrivateNats {
  private child?: ChildProcess;
  private constructor(
    readonly storeDir: string,
    readonly port: number,
  ) {}

  static async start(): Promise<PrivateNats> {
    const nats = new PrivateNats(mkdtempSync(path.join(tmpdir(), "tally-chaos-nats-")), await freePort());
    await nats.startServer();
    return nats;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async startServer(): Promise<void> {
    this.child = spawn("nats-server", ["-a", "127.0.0.1", "-p", String(this.port), "-js", "-sd", this.storeDir], { stdio: "ignore" });
    await waitUntil(() => canConnect(this.port), 15_000);
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

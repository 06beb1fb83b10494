import { execFile } from "node:child_process";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * A throwaway Postgres cluster of the test's own (initdb + pg_ctl on a free
 * port, in a temporary directory), for tests that crash the database. The
 * shared server on 5432 must never be stopped; this one can be, any way the
 * test likes. Postgres refuses to run as root: as root it runs as `postgres`.
 */
export interface PrivatePostgres {
  url: string;
  /** Kills the server the way a crash would: no checkpoint, no flush (`pg_ctl stop -m immediate`). */
  crash(): Promise<void>;
  /** Starts it again; recovery replays the WAL that reached the disk. */
  start(): Promise<void>;
  /** Stops it and deletes its files. */
  destroy(): Promise<void>;
}

export async function startPrivatePostgres(settings: Record<string, string> = {}): Promise<PrivatePostgres> {
  const bin = (await run("pg_config", ["--bindir"])).stdout.trim();
  const dir = mkdtempSync(path.join(tmpdir(), "tally-pg-"));
  const data = path.join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    chownSync(dir, Number(stdout), Number(gid));
  }
  const pg = (tool: string, args: string[]) =>
    asRoot ? run("runuser", ["-u", "postgres", "--", path.join(bin, tool), ...args]) : run(path.join(bin, tool), args);
  const port = await freePort();
  const options = Object.entries({ port: String(port), listen_addresses: "127.0.0.1", unix_socket_directories: dir, ...settings })
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(" ");
  await pg("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "--no-instructions"]);
  const start = async () => {
    await pg("pg_ctl", ["start", "-D", data, "-w", "-t", "60", "-l", path.join(dir, "log"), "-o", options]);
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async crash() {
      await pg("pg_ctl", ["stop", "-D", data, "-m", "immediate", "-w"]);
    },
    start,
    async destroy() {
      await pg("pg_ctl", ["stop", "-D", data, "-m", "immediate", "-w"]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

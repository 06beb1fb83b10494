import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "../../..");

/** Another Tally service in its own process, started from its real entry point (`apps/<name>/src/main.ts`). */
export interface ServiceProcess {
  address: string;
  pid: number;
  /** CPU time (user + system, ms) the process has used so far, from /proc. */
  cpuMs(): number;
  stop(): Promise<void>;
}

export async function startServiceProcess(name: string, env: Record<string, string>): Promise<ServiceProcess> {
  const child: ChildProcess = spawn(process.execPath, ["--require", path.join(ROOT, "tools/ts-node-register.js"), path.join(ROOT, `apps/${name}/src/main.ts`)], {
    env: { ...process.env, ...env, [`${name.toUpperCase()}_GRPC_ADDRESS`]: "127.0.0.1:0", LOG_LEVEL: "warn" },
    stdio: ["ignore", "inherit", "pipe"],
  });
  const address = await new Promise<string>((resolve, reject) => {
    let seen = "";
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`${name} exited with ${code} before listening:\n${seen}`)));
    child.stderr!.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      const m = new RegExp(`${name} listening on (\\S+) \\(gRPC\\)`).exec(seen);
      if (m) resolve(m[1]!);
    });
  });
  child.removeAllListeners("exit");
  return {
    address,
    pid: child.pid!,
    cpuMs: () => processCpuMs(child.pid!),
    stop: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}

/** utime + stime of a process, in ms (Linux clock ticks are 10 ms). */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

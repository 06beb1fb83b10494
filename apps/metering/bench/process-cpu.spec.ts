import { spawn } from "node:child_process";
import { once } from "node:events";
import { EXITED, PhaseCpuMeter } from "./process-cpu";

/**
 * The accounting against real processes: a small node process stands in for the postmaster and,
 * when told, starts two children that each burn CPU and report their total: one stays alive,
 * the other exits (and is reaped) before the phase ends, as short-lived Postgres processes do.
 */
const TICK_MS = 10; // /proc counts in ticks of 10 ms
const NO_SAMPLES_MS = 600_000; // no sample between start and stop: the exited child is never seen

const BURN = `const t=process.cpuUsage();while((process.cpuUsage(t).user+process.cpuUsage(t).system)/1000<150);const u=process.cpuUsage();process.stdout.write(String((u.user+u.system)/1000));`;
const POSTMASTER = `
const { spawn } = require("node:child_process");
process.stdout.write("ready\\n");
process.stdin.once("data", () => {
  const living = spawn(process.execPath, ["-e", ${JSON.stringify(`${BURN}process.stdin.resume()`)}], { stdio: ["pipe", "pipe", "inherit"] });
  const exiting = spawn(process.execPath, ["-e", ${JSON.stringify(BURN)}], { stdio: ["ignore", "pipe", "inherit"] });
  const cpu = {};
  const report = () => { if (cpu.living && cpu.exited) process.stdout.write(JSON.stringify(cpu)); };
  living.stdout.once("data", (d) => { cpu.living = Number(d); report(); });
  let exitingCpu;
  exiting.stdout.once("data", (d) => { exitingCpu = Number(d); });
  exiting.once("exit", () => { cpu.exited = exitingCpu; report(); });
  process.stdin.once("end", () => living.stdin.end());
});
process.stdin.resume();
`;

describe("PhaseCpuMeter", () => {
  it("attributes a living child's CPU to its kind and a reaped, never sampled child's to EXITED", async () => {
    const postmaster = spawn(process.execPath, ["-e", POSTMASTER], { stdio: ["pipe", "pipe", "inherit"] });
    await once(postmaster.stdout!, "data"); // ready
    const meter = new PhaseCpuMeter(postmaster.pid!, "test", process.pid, [], NO_SAMPLES_MS);
    meter.start();
    postmaster.stdin!.write("go\n");
    const children = JSON.parse(String((await once(postmaster.stdout!, "data"))[0])) as { living: number; exited: number };
    const cpu = meter.stop();
    postmaster.stdin!.end();
    await once(postmaster, "exit");

    const attributed = [...cpu.byKind].filter(([kind]) => kind !== EXITED).reduce((sum, [, ms]) => sum + ms, 0);
    expect(attributed).toBeGreaterThanOrEqual(children.living - 2 * TICK_MS);
    expect(attributed).toBeLessThanOrEqual(children.living + 2 * TICK_MS);
    // Only the postmaster's reaped-children time holds it (plus the stand-in's own idling).
    expect(cpu.byKind.get(EXITED)).toBeGreaterThanOrEqual(children.exited - 2 * TICK_MS);
    expect(cpu.postgresTotal).toBeCloseTo(attributed + cpu.byKind.get(EXITED)!, 6);
  });
});

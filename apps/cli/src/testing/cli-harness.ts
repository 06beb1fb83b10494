import { startService, type RunningService } from "@tally/platform";
import { createTestEnvironment, TEST_KEYS, type TestEnvironment } from "@tally/platform/testing";
import { createMeteringService, limitsService, ratingService } from "../../../../test/support/services";
import { runCli } from "../cli";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with its output captured, as `tally <args>` would in a shell. */
export async function runTally(args: string[], env: Record<string, string>, cwd = process.cwd()): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(args, {
    env,
    cwd,
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

/** Real services on a fresh database and NATS prefix, and the environment that points the CLI at them. */
export interface CliStack {
  env: TestEnvironment;
  services: Partial<Record<"metering" | "rating" | "limits", RunningService>>;
  /** TALLY_* variables for the running services and the all-scopes test key. */
  cliEnv: Record<string, string>;
  tally(args: string[], options?: { env?: Record<string, string>; cwd?: string }): Promise<CliRun>;
  stop(): Promise<void>;
}

export async function startCliStack(which: { rating?: boolean; limits?: boolean } = {}): Promise<CliStack> {
  const env = await createTestEnvironment();
  const started: RunningService[] = [];
  const services: CliStack["services"] = {};
  const stop = async () => {
    for (const s of [...started].reverse()) await s.stop();
    await env.close();
  };
  try {
    services.metering = await startService(createMeteringService(), env.config("metering"));
    started.push(services.metering);
    if (which.rating) {
      services.rating = await startService(ratingService, env.config("rating"));
      started.push(services.rating);
    }
    if (which.limits) {
      services.limits = await startService(limitsService, env.config("limits"));
      started.push(services.limits);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const cliEnv: Record<string, string> = { TALLY_API_KEY: TEST_KEYS.all, TALLY_METERING_ADDRESS: services.metering.address };
  if (services.rating) cliEnv.TALLY_RATING_ADDRESS = services.rating.address;
  if (services.limits) cliEnv.TALLY_LIMITS_ADDRESS = services.limits.address;
  return {
    env,
    services,
    cliEnv,
    tally: (args, options = {}) => runTally(args, { ...cliEnv, ...options.env }, options.cwd),
    stop,
  };
}

export { eventually } from "@tally/platform/testing";

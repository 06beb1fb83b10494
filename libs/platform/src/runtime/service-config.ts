import { DEFAULT_PORTS, type ServiceName } from "@tally/contracts";
import { ConfigError, custom, int, loadConfig, oneOf, str, url } from "../config/env";
import { parseApiKeys } from "../grpc/api-keys";
import { natsServersField } from "../nats/nats-servers";
import type { LogLevel } from "../logging/logger";

export type { ServiceName };

/**
 * The variables every service reads. A service-specific address may be set
 * with e.g. `METERING_GRPC_ADDRESS`, which beats the shared `GRPC_ADDRESS`.
 */
export function loadServiceConfig(service: ServiceName, env: Record<string, string | undefined> = process.env) {
  const specificAddress = `${service.toUpperCase()}_GRPC_ADDRESS`;
  const grpcAddress = env[specificAddress] ?? env.GRPC_ADDRESS ?? `127.0.0.1:${DEFAULT_PORTS[service]}`;
  const config = loadConfig(
    {
      databaseUrl: url("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test", ["postgres", "postgresql"]),
      dbPoolSize: int("DB_POOL_SIZE", 10, { min: 2, max: 200 }),
      // One server or several (`nats://a:4222,nats://b:4222`): seeds of the cluster to fail over between.
      natsServers: natsServersField("NATS_URL", "nats://127.0.0.1:4222"),
      // Copies JetStream keeps of every stream (and its consumers): 3 on a 3-node cluster survives a node's loss.
      natsStreamReplicas: int("NATS_STREAM_REPLICAS", 1, { min: 1, max: 5 }),
      natsPrefix: custom("NATS_PREFIX", (raw) => {
        if (raw && !/^[A-Za-z0-9_-]+$/.test(raw)) throw new Error("may contain only letters, digits, '_' and '-'");
        return raw ?? "";
      }),
      grpcAddress: str(specificAddress, grpcAddress),
      // Connect, gRPC-Web and /metrics; by default the gRPC port + 100 (port 0 stays 0: any free port).
      httpAddress: str(`${service.toUpperCase()}_HTTP_ADDRESS`, httpBeside(grpcAddress)),
      apiKeys: custom("API_KEYS", parseApiKeys),
      logLevel: oneOf<LogLevel>("LOG_LEVEL", ["debug", "info", "warn", "error", "silent"], "info"),
      shutdownGraceMs: int("SHUTDOWN_GRACE_MS", 10_000, { min: 0, max: 120_000 }),
      // `manual`: the service follows the deployment's shared clock (SharedClock), set by a harness.
      clock: oneOf("TALLY_CLOCK", ["system", "manual"] as const, "system"),
      clockStart: custom("TALLY_CLOCK_START", (raw) => {
        if (raw && Number.isNaN(Date.parse(raw))) throw new Error(`must be an ISO 8601 time, got "${raw}"`);
        return raw ?? "";
      }),
    },
    env,
  );
  /** The list as one string again, for passing on to child processes and tools as NATS_URL. */
  return { ...config, natsUrl: config.natsServers.join(",") };
}

function httpBeside(grpcAddress: string): string {
  const separator = grpcAddress.lastIndexOf(":");
  const port = Number(grpcAddress.slice(separator + 1));
  return `${grpcAddress.slice(0, separator)}:${port === 0 || !Number.isInteger(port) ? 0 : port + 100}`;
}

export type ServiceConfig = ReturnType<typeof loadServiceConfig>;

/**
 * The shared variables and a service's own settings, checked together before anything starts, so
 * an operator sees every problem at once (each loader throws ConfigError naming its variables).
 */
export function loadServiceConfigWithSettings(
  service: ServiceName,
  settings: ReadonlyArray<(env: Record<string, string | undefined>) => unknown>,
  env: Record<string, string | undefined> = process.env,
): ServiceConfig {
  const problems: string[] = [];
  const collect = <T>(load: () => T): T | undefined => {
    try {
      return load();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
      return undefined;
    }
  };
  const config = collect(() => loadServiceConfig(service, env));
  for (const load of settings) collect(() => load(env));
  if (problems.length > 0 || !config) throw new ConfigError(problems);
  return config;
}

import { DEFAULT_PORTS, type ServiceName } from "@tally/contracts";
import { custom, int, loadConfig, oneOf, str, url } from "../config/env";
import { parseApiKeys } from "../grpc/api-keys";
import type { LogLevel } from "../logging/logger";

export type { ServiceName };

/**
 * The variables every service reads. A service-specific address may be set
 * with e.g. `METERING_GRPC_ADDRESS`, which beats the shared `GRPC_ADDRESS`.
 */
export function loadServiceConfig(service: ServiceName, env: Record<string, string | undefined> = process.env) {
  const specificAddress = `${service.toUpperCase()}_GRPC_ADDRESS`;
  return loadConfig(
    {
      databaseUrl: url("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test", ["postgres", "postgresql"]),
      dbPoolSize: int("DB_POOL_SIZE", 10, { min: 2, max: 200 }),
      natsUrl: url("NATS_URL", "nats://127.0.0.1:4222", ["nats", "tls"]),
      natsPrefix: custom("NATS_PREFIX", (raw) => {
        if (raw && !/^[A-Za-z0-9_-]+$/.test(raw)) throw new Error("may contain only letters, digits, '_' and '-'");
        return raw ?? "";
      }),
      grpcAddress: str(specificAddress, env.GRPC_ADDRESS ?? `127.0.0.1:${DEFAULT_PORTS[service]}`),
      apiKeys: custom("API_KEYS", parseApiKeys),
      logLevel: oneOf<LogLevel>("LOG_LEVEL", ["debug", "info", "warn", "error", "silent"], "info"),
      shutdownGraceMs: int("SHUTDOWN_GRACE_MS", 10_000, { min: 0, max: 120_000 }),
    },
    env,
  );
}

export type ServiceConfig = ReturnType<typeof loadServiceConfig>;

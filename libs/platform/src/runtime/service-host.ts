import type { Pool } from "pg";
import type { Clock } from "../clock/clock";
import { systemClock } from "../clock/clock";
import { SharedClock } from "../clock/shared-clock";
import type { Logger } from "../logging/logger";
import { createLogger } from "../logging/logger";
import { createPool } from "../postgres/database";
import { untilDatabaseAnswers, watchDatabase } from "../postgres/database-watch";
import { migrate, type Migration } from "../postgres/migrations";
import { EventBus } from "../nats/event-bus";
import { watchNatsConnection } from "../nats/nats-watch";
import { OutboxRelay, type CommittedPublisher } from "../outbox/outbox";
import { DEFAULT_MAX_REQUEST_BYTES, startGrpcServer, type RunningGrpcServer, type ServiceRegistration } from "../grpc/server";
import type { AdmissionOptions } from "../grpc/admission";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { ServiceConfig, ServiceName } from "./service-config";
import { startHttpServer, type RunningHttpServer } from "../http/http-server";
import { ServiceMetrics } from "../metrics/service-metrics";
import { registerConsumerLagGauges } from "../metrics/consumer-lag-gauges";
import { registerStorageGauges } from "../metrics/storage-gauges";

/** What the platform hands a service to build itself with. */
export interface ServiceDeps {
  config: ServiceConfig;
  logger: Logger;
  pool: Pool;
  bus: EventBus;
  clock: Clock;
  /** This service's outbox relay, to publish what a transaction committed without reading it back. */
  outbox: CommittedPublisher;
  /** This service's Prometheus registry: rpc metrics come built in; add business counters here. */
  metrics: ServiceMetrics;
}

/** What a service gives back: its rpcs, plus anything it runs in the background (consumers). */
export interface ServiceParts {
  services: ServiceRegistration<GenService<GenServiceMethods>>[];
  /** Started after migrations, before the server accepts calls. */
  start?(): Promise<void>;
  /** Stopped after the server has drained, before the outbox's last flush. */
  stop?(): Promise<void>;
  /** Admission control on the gRPC port (from the service's own settings); none when absent. */
  admission?: AdmissionOptions;
}

export interface ServiceDefinition {
  name: ServiceName;
  migrations: Migration[];
  /** Largest request accepted, in bytes (default 4 MiB); documented in proto/README.md. */
  maxRequestBytes?: number;
  build(deps: ServiceDeps): Promise<ServiceParts> | ServiceParts;
}

export interface RunningService {
  name: ServiceName;
  address: string;
  port: number;
  deps: ServiceDeps;
  server: RunningGrpcServer;
  /** Connect, gRPC-Web and `/metrics`. */
  http: RunningHttpServer;
  relay: OutboxRelay;
  stop(): Promise<void>;
}

/**
 * Starts one service: NATS, the gRPC server (health NOT_SERVING, rpcs UNAVAILABLE until
 * ready), schema migrations — waiting, with backoff, for a database that is down or still
 * starting instead of exiting — its background work and the outbox relay. Then it watches
 * the database: health says NOT_SERVING while it is unreachable, SERVING once it answers.
 * `stop()` is the graceful shutdown in the order that loses nothing: stop taking calls and
 * let in-flight ones finish, stop consumers, publish what the outbox still holds, then close
 * NATS and Postgres.
 */
export async function startService(
  definition: ServiceDefinition,
  config: ServiceConfig,
  overrides: { clock?: Clock; logger?: Logger } = {},
): Promise<RunningService> {
  const logger = overrides.logger ?? createLogger({ service: definition.name }, config.logLevel);
  const pool = createPool(config.databaseUrl, definition.name, { max: config.dbPoolSize });
  const cleanup: (() => Promise<unknown>)[] = [() => pool.end()];
  let server: RunningGrpcServer | undefined;
  let httpServer: RunningHttpServer | undefined;
  try {
    const bus = await EventBus.connect({ url: config.natsServers, prefix: config.natsPrefix, name: `tally-${definition.name}`, replicas: config.natsStreamReplicas });
    cleanup.unshift(() => bus.close());
    const metrics = new ServiceMetrics(definition.name);
    const published = metrics.counter("events_published_total", "Outbox messages stored by JetStream, once each (re-sends not counted), by subject.", ["subject"]);
    const relay = new OutboxRelay({ pool, bus, schema: definition.name, logger, published });
    registerStorageGauges(metrics, pool);
    registerConsumerLagGauges(metrics, bus);
    const clock = overrides.clock ?? (await deploymentClock(config, bus));
    if (clock instanceof SharedClock) cleanup.unshift(async () => clock.stop());
    const deps: ServiceDeps = { config, logger, pool, bus, clock, outbox: relay, metrics };
    const parts = await definition.build(deps);
    server = await startGrpcServer({
      address: config.grpcAddress,
      services: parts.services,
      apiKeys: config.apiKeys,
      logger,
      maxRequestBytes: definition.maxRequestBytes,
      startClosed: true,
      metrics,
      admission: parts.admission,
    });
    httpServer = await startHttpServer({
      address: config.httpAddress,
      services: parts.services,
      apiKeys: config.apiKeys,
      logger,
      maxRequestBytes: definition.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
      metrics,
      startClosed: true,
    });
    await untilDatabaseAnswers(() => migrate(pool, definition.name, definition.migrations), { logger });
    await bus.ensureStream(definition.name);
    await untilDatabaseAnswers(() => relay.start(), { logger });
    cleanup.unshift(() => relay.stop());
    await parts.start?.();
    // Consumers stop before the relay's last flush: what they enqueue on the way out still goes.
    if (parts.stop) cleanup.unshift(parts.stop);
    const running = server;
    const runningHttp = httpServer;
    // SERVING only while both the database and NATS answer; each watch reports its own changes.
    const ready = { database: true, nats: true };
    const report = (part: keyof typeof ready) => (up: boolean) => {
      ready[part] = up;
      running.setServing(ready.database && ready.nats);
    };
    const watch = watchDatabase(pool, { logger, onChange: report("database") });
    const natsWatch = watchNatsConnection(bus.connection, { logger, onChange: report("nats") });
    cleanup.unshift(async () => natsWatch.stop());
    cleanup.unshift(() => watch.stop());
    server.open();
    httpServer.open();
    logger.info("service listening", { address: server.address, httpAddress: httpServer.address });
    let stopping: Promise<void> | undefined;
    return {
      name: definition.name,
      address: server.address,
      port: server.port,
      deps,
      server,
      http: httpServer,
      relay,
      stop: () =>
        (stopping ??= (async () => {
          logger.info("shutting down");
          await Promise.all([running.shutdown(config.shutdownGraceMs), runningHttp.shutdown(config.shutdownGraceMs)]);
          for (const step of cleanup) await step();
          logger.info("stopped");
        })()),
    };
  } catch (err) {
    await server?.shutdown(0);
    await httpServer?.shutdown(0);
    for (const step of cleanup) await step().catch(() => undefined);
    throw err;
  }
}

/** TALLY_CLOCK=manual: the deployment's shared clock, acknowledged under this instance's gRPC address. */
async function deploymentClock(config: ServiceConfig, bus: EventBus): Promise<Clock> {
  if (config.clock !== "manual") return systemClock;
  return SharedClock.follow(bus, { instance: config.grpcAddress, start: config.clockStart ? new Date(config.clockStart) : undefined });
}

/** For `main.ts`: start, and stop gracefully on SIGINT/SIGTERM. */
export async function runServiceMain(definition: ServiceDefinition, loadConfig: () => ServiceConfig): Promise<void> {
  let config: ServiceConfig;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`${definition.name}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(78); // EX_CONFIG
  }
  const service = await startService(definition, config);
  // Printed plainly too so `npm start` shows where each service listens.
  process.stderr.write(`${definition.name} listening on ${service.address} (gRPC), http://${service.http.address} (Connect, gRPC-Web, /metrics)\n`);
  const shutdown = () => {
    service.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        service.deps.logger.error("shutdown failed", { err });
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

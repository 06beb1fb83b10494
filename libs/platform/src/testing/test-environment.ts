import { randomBytes } from "node:crypto";
import { EventBus } from "../nats/event-bus";
import { loadServiceConfig, type ServiceConfig, type ServiceName } from "../runtime/service-config";
import { createTestDatabase, type TestDatabase } from "./test-database";
import { TEST_API_KEYS } from "./test-keys";

/**
 * Everything one test file needs to run services in isolation: its own
 * database and its own NATS subject/stream prefix. `close()` removes both.
 */
export interface TestEnvironment {
  database: TestDatabase;
  natsUrl: string;
  natsPrefix: string;
  /** A bus on the test prefix, for publishing or observing events directly. */
  bus: EventBus;
  config(service: ServiceName, overrides?: Record<string, string>): ServiceConfig;
  close(): Promise<void>;
}

export async function createTestEnvironment(): Promise<TestEnvironment> {
  const database = await createTestDatabase();
  const natsUrl = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
  const natsPrefix = `t${randomBytes(5).toString("hex")}`;
  const replicas = process.env.NATS_STREAM_REPLICAS ?? "1";
  const bus = await EventBus.connect({ url: natsUrl, prefix: natsPrefix, name: "tally-test", replicas: Number(replicas) });
  return {
    database,
    natsUrl,
    natsPrefix,
    bus,
    config: (service, overrides = {}) =>
      loadServiceConfig(service, {
        DATABASE_URL: database.url,
        NATS_URL: natsUrl,
        NATS_PREFIX: natsPrefix,
        NATS_STREAM_REPLICAS: replicas,
        GRPC_ADDRESS: "127.0.0.1:0",
        API_KEYS: TEST_API_KEYS,
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
        SHUTDOWN_GRACE_MS: "2000",
        ...overrides,
      }),
    async close() {
      await bus.deletePrefixedStreams().catch(() => undefined);
      await bus.close();
      await database.drop();
    },
  };
}

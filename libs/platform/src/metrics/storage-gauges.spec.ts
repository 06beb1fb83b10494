import { metering } from "@tally/contracts";
import { serviceRegistration } from "../grpc/server";
import type { ServiceHandlers } from "../grpc/service-definition";
import { createTestEnvironment, type TestEnvironment } from "../testing/test-environment";
import { startService, type RunningService, type ServiceDefinition } from "../runtime/service-host";

const notUsed = () => Promise.reject(new Error("not used in this test"));
const handlers: ServiceHandlers<typeof metering.Meter> = {
  record: notUsed,
  recordBatch: notUsed,
  createMeter: notUsed,
  getMeter: notUsed,
  listMeters: notUsed,
  archiveMeter: notUsed,
  queryUsage: notUsed,
};
const definition: ServiceDefinition = {
  name: "metering",
  migrations: [],
  build: () => ({
    services: [
      serviceRegistration({
        service: metering.Meter,
        handlers,
        scopes: { record: "ingest", recordBatch: "ingest", createMeter: "admin", getMeter: "read", listMeters: "read", archiveMeter: "admin", queryUsage: "read" },
      }),
    ],
  }),
};

async function gauge(service: RunningService, name: string, labels = ""): Promise<number | undefined> {
  const text = await (await fetch(`http://${service.http.address}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("storage gauges on /metrics", () => {
  let env: TestEnvironment;
  let service: RunningService;

  beforeAll(async () => {
    env = await createTestEnvironment();
    service = await startService(definition, env.config("metering"));
  });

  afterAll(async () => {
    await service?.stop();
    await env?.close();
  });

  it("reports the outbox rows not yet published and the pool's connections in use", async () => {
    expect(await gauge(service, "tally_outbox_depth")).toBe(0);
    // With the relay stopped, rows stay in the outbox: the gauge must count exactly them.
    await service.relay.stop();
    await service.deps.pool.query(
      "INSERT INTO outbox (subject, msg_id, payload) SELECT 'tally.test.v1.probe', 'probe_' || n, ''::bytea FROM generate_series(1, 3) AS n",
    );
    expect(await gauge(service, "tally_outbox_depth")).toBe(3);
    expect(await gauge(service, "tally_outbox_oldest_age_seconds")).toBeGreaterThanOrEqual(0);
    const held = await service.deps.pool.connect();
    try {
      expect(await gauge(service, "tally_pg_pool_connections", 'state="in_use"')).toBeGreaterThanOrEqual(1);
      expect(await gauge(service, "tally_pg_pool_max_connections")).toBe(service.deps.config.dbPoolSize);
      expect(await gauge(service, "tally_pg_pool_waiting_clients")).toBe(0);
    } finally {
      held.release();
      await service.deps.pool.query("DELETE FROM outbox"); // nothing left for stop()'s last flush
    }
  });
});

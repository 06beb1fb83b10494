import * as net from "node:net";
import { metering } from "@tally/contracts";
import { ConnectError, Code } from "@connectrpc/connect";
import { serviceRegistration } from "../grpc/server";
import type { ServiceHandlers } from "../grpc/service-definition";
import { createTestClient } from "../testing/grpc-client";
import { until } from "../testing/eventually";
import { checkHealth } from "../testing/health-check";
import { createTestEnvironment, type TestEnvironment } from "../testing/test-environment";
import { TEST_KEYS } from "../testing/test-keys";
import { startTcpProxy, viaProxy, type TcpProxy } from "../testing/tcp-proxy";
import { startService, type RunningService, type ServiceDefinition } from "./service-host";

const notUsed = () => Promise.reject(new Error("not used in this test"));

/** A service whose GetMeter holds a connection across two queries, as a transaction does. */
const definition: ServiceDefinition = {
  name: "metering",
  migrations: [{ version: 1, name: "probe", sql: "CREATE TABLE probe (id int)" }],
  build: ({ pool }) => {
    const handlers: ServiceHandlers<typeof metering.Meter> = {
      record: notUsed,
      recordBatch: notUsed,
      createMeter: notUsed,
      getMeter: async ({ key }) => {
        const client = await pool.connect();
        try {
          await client.query("SELECT count(*) FROM probe");
          await client.query("SELECT pg_sleep($1::float)", [key === "slow" ? 2 : 0]);
        } finally {
          client.release();
        }
        return { meter: { key } };
      },
      listMeters: notUsed,
      archiveMeter: notUsed,
      queryUsage: notUsed,
    };
    const scopes = { record: "ingest", recordBatch: "ingest", createMeter: "admin", getMeter: "read", listMeters: "read", archiveMeter: "admin", queryUsage: "read" } as const;
    return { services: [serviceRegistration({ service: metering.Meter, handlers, scopes })] };
  },
};


async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("a service and its database going away", () => {
  let env: TestEnvironment;
  let proxy: TcpProxy;
  let service: RunningService | undefined;

  beforeAll(async () => {
    env = await createTestEnvironment();
    const target = new URL(env.database.url);
    proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
  });

  afterAll(async () => {
    await service?.stop();
    await proxy.close();
    await env.close();
  });

  it("waits for a database that is down at start, reporting NOT_SERVING, then serves", async () => {
    proxy.down();
    const address = `127.0.0.1:${await freePort()}`;
    const starting = startService(definition, env.config("metering", { DATABASE_URL: viaProxy(env.database.url, proxy), METERING_GRPC_ADDRESS: address }));
    await until("health NOT_SERVING while the database is down", async () => (await checkHealth(address)) === "NOT_SERVING");
    const { client, close } = createTestClient(metering.Meter, address, TEST_KEYS.read);
    try {
      await expect(client.getMeter({ key: "k" })).rejects.toMatchObject({ code: Code.Unavailable });
    } finally {
      close();
    }
    proxy.up();
    service = await starting;
    expect(await checkHealth(address)).toBe("SERVING");
  });

  it("rides through the database dropping every connection mid-query: UNAVAILABLE, NOT_SERVING, then back without a restart", async () => {
    const { client, close } = createTestClient(metering.Meter, service!.address, TEST_KEYS.read);
    try {
      expect((await client.getMeter({ key: "k" })).meter?.key).toBe("k");
      const inFlight = client.getMeter({ key: "slow" }).catch((err: unknown) => ConnectError.from(err));
      await until("the slow query to hold a connection", async () => service!.deps.pool.totalCount > service!.deps.pool.idleCount);
      proxy.down();
      // Before the fix, the checked-out client's "error" event had no listener and killed the process here.
      expect(await inFlight).toMatchObject({ code: Code.Unavailable });
      await expect(client.getMeter({ key: "k" })).rejects.toMatchObject({ code: Code.Unavailable });
      await until("health NOT_SERVING", async () => (await checkHealth(service!.address)) === "NOT_SERVING");
      const back = Date.now();
      proxy.up();
      await until("health SERVING again", async () => (await checkHealth(service!.address)) === "SERVING");
      expect(Date.now() - back).toBeLessThan(5_000);
      expect((await client.getMeter({ key: "k" })).meter?.key).toBe("k");
    } finally {
      close();
    }
  });
});

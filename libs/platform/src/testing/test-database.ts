import { randomBytes } from "node:crypto";
import { Client } from "pg";
import type * as Testcontainers from "testcontainers";

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

const DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/test";

/**
 * A fresh database for one test file, on the machine's Postgres
 * (`DATABASE_URL`). Only where no server answers and a Docker engine exists
 * does it fall back to a throwaway container.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.DATABASE_URL ?? DEFAULT_URL;
  const admin = new Client({ connectionString: adminUrl });
  try {
    await admin.connect();
  } catch (err) {
    return containerDatabase(err);
  }
  const name = `tally_t_${process.pid}_${randomBytes(4).toString("hex")}`;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

async function containerDatabase(cause: unknown): Promise<TestDatabase> {
  const hint = "start it (see README: Set-up) or set DATABASE_URL";
  let testcontainers: typeof Testcontainers;
  try {
    testcontainers = await import("testcontainers");
  } catch {
    throw new Error(`no Postgres at DATABASE_URL: ${hint}`, { cause });
  }
  const container = await new testcontainers.GenericContainer("postgres:15")
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: "trust", POSTGRES_DB: "test" })
    .withExposedPorts(5432)
    .withWaitStrategy(testcontainers.Wait.forLogMessage(/ready to accept connections/, 2))
    .start()
    .catch((err: unknown) => {
      throw new Error(`no Postgres at DATABASE_URL and no container runtime: ${hint}`, { cause: err });
    });
  return {
    url: `postgres://postgres@${container.getHost()}:${container.getMappedPort(5432)}/test`,
    drop: async () => {
      await container.stop();
    },
  };
}

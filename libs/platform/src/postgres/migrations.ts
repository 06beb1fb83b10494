import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type { Pool } from "pg";
import { assertSchemaName } from "./database";
import { withTransaction } from "./transaction";
import { OUTBOX_MIGRATION, OUTBOX_TRACEPARENT_MIGRATION } from "../outbox/outbox-schema";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const FILE_NAME = /^(\d{3,})_([a-z0-9_]+)\.sql$/;

/** Reads `NNN_name.sql` files, in version order. */
export function readMigrations(directory: string): Migration[] {
  return readdirSync(directory)
    .filter((file) => file.endsWith(".sql"))
    .map((file) => {
      const match = FILE_NAME.exec(file);
      if (!match) throw new Error(`migration file "${file}" must be named NNN_name.sql`);
      return { version: Number(match[1]), name: match[2]!, sql: readFileSync(path.join(directory, file), "utf8") };
    })
    .sort((a, b) => a.version - b.version);
}

/**
 * Applies pending migrations to `schema`, forward only, each in its own
 * transaction. An advisory lock lets several instances start at once; a
 * checksum catches an applied migration that was edited afterwards.
 * Version 0 is the platform's outbox table, present in every service schema; 100000 its
 * trace context column (applied right after it, whatever the service's own versions).
 */
export async function migrate(pool: Pool, schema: string, migrations: Migration[]): Promise<number[]> {
  assertSchemaName(schema);
  const all = [OUTBOX_MIGRATION, OUTBOX_TRACEPARENT_MIGRATION, ...migrations];
  const seen = new Set<number>();
  for (const m of all) {
    if (seen.has(m.version)) throw new Error(`duplicate migration version ${m.version} in schema ${schema}`);
    seen.add(m.version);
  }
  return withTransaction(pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`SET LOCAL search_path = ${schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number; checksum: string }>("SELECT version, checksum FROM schema_migrations");
    const applied = new Map(rows.map((r) => [r.version, r.checksum]));
    const done: number[] = [];
    for (const m of all) {
      const checksum = createHash("sha256").update(m.sql).digest("hex");
      const existing = applied.get(m.version);
      if (existing !== undefined) {
        if (existing !== checksum) throw new Error(`migration ${schema}/${m.version}_${m.name} was changed after being applied`);
        continue;
      }
      await client.query(m.sql);
      await client.query("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", [m.version, m.name, checksum]);
      done.push(m.version);
    }
    return done;
  });
}

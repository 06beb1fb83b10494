import { createPool, type Pool } from "./database";
import { migrate } from "./migrations";
import { createTestDatabase, type TestDatabase } from "../testing/test-database";

describe("migrate", () => {
  let db: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url, "sample");
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  const first = { version: 1, name: "widgets", sql: "CREATE TABLE widgets (id int PRIMARY KEY)" };

  it("creates the schema, the outbox and applies pending migrations once", async () => {
    expect(await migrate(pool, "sample", [first])).toEqual([0, 100_000, 1]);
    expect(await migrate(pool, "sample", [first])).toEqual([]);
    const { rows } = await pool.query("SELECT to_regclass('sample.widgets') AS w, to_regclass('sample.outbox') AS o");
    expect(rows[0]).toEqual({ w: "widgets", o: "outbox" });
  });

  it("refuses a migration edited after it was applied", async () => {
    await expect(migrate(pool, "sample", [{ ...first, sql: first.sql + " -- edited" }])).rejects.toThrow(
      "migration sample/1_widgets was changed after being applied",
    );
  });

  it("applies nothing of a batch that fails", async () => {
    const good = { version: 2, name: "gadgets", sql: "CREATE TABLE gadgets (id int)" };
    const bad = { version: 3, name: "broken", sql: "CREATE TABLE nope (" };
    await expect(migrate(pool, "sample", [first, good, bad])).rejects.toThrow();
    const { rows } = await pool.query("SELECT to_regclass('sample.gadgets') AS g");
    expect(rows[0].g).toBeNull();
  });
});

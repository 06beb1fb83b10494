import { createPool, type Pool } from "./database";
import { withTransaction } from "./transaction";
import { createTestDatabase, type TestDatabase } from "../testing/test-database";

describe("withTransaction", () => {
  let db: TestDatabase;
  let pool: Pool;
  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url, "public");
    await pool.query("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)");
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it("runs the work again after a serialization failure, and commits once", async () => {
    await pool.query("INSERT INTO counter VALUES (1, 0)");
    const retries: string[] = [];
    let attempts = 0;
    await withTransaction(
      pool,
      async (client) => {
        attempts++;
        await client.query("UPDATE counter SET n = n + 1 WHERE id = 1");
        // Postgres raising 40001 itself, as a conflicting SERIALIZABLE transaction would.
        if (attempts === 1) await client.query("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = 'serialization_failure'; END $$");
      },
      { onRetry: ({ code }) => retries.push(code), backoff: async () => undefined },
    );
    expect(retries).toEqual(["40001"]);
    expect((await pool.query("SELECT n FROM counter WHERE id = 1")).rows[0].n).toBe(1);
  });

  it("rolls back and throws any other error at once, and gives up after the last attempt", async () => {
    let attempts = 0;
    await expect(withTransaction(pool, async () => {
      attempts++;
      throw Object.assign(new Error("unique"), { code: "23505" });
    })).rejects.toThrow("unique");
    expect(attempts).toBe(1);
    attempts = 0;
    const conflict = () => Object.assign(new Error("deadlock"), { code: "40P01" });
    await expect(withTransaction(pool, async () => {
      attempts++;
      throw conflict();
    }, { attempts: 3, backoff: async () => undefined })).rejects.toThrow("deadlock");
    expect(attempts).toBe(3);
  });
});

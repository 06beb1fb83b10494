import { startService } from "@tally/platform";
import { checkHealth, createTestEnvironment, type TestEnvironment } from "@tally/platform/testing";
import { paymentsService } from "./payments-service";

describe("payments service", () => {
  let env: TestEnvironment;
  beforeAll(async () => {
    env = await createTestEnvironment();
  });
  afterAll(() => env.close());

  it("starts on its own schema, reports SERVING, and stops gracefully", async () => {
    const running = await startService(paymentsService, env.config("payments"));
    try {
      expect(await checkHealth(running.address)).toBe("SERVING");
      const { rows } = await running.deps.pool.query("SELECT to_regclass('payments.outbox') AS outbox");
      expect(rows[0].outbox).toBe("outbox");
    } finally {
      await running.stop();
    }
    await expect(checkHealth(running.address)).rejects.toThrow();
  });
});

import { spawn } from "node:child_process";
import * as path from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { createTestEnvironment, ManualClock, type TestEnvironment } from "@tally/platform/testing";
import { eventually, FakePricer, publishSubscription, startInvoicing } from "./testing/invoicing-test-kit";

jest.setTimeout(30_000);

describe("closing a period when things fail", () => {
  let env: TestEnvironment;
  const clock = new ManualClock("2026-11-20T00:00:00Z");
  beforeAll(async () => {
    env = await createTestEnvironment();
  });
  afterAll(() => env?.close());

  it("rating unreachable: nothing is written, the next cycle closes the period once", async () => {
    const pricer = new FakePricer();
    const app = await startInvoicing(env, clock, pricer);
    try {
      await app.client.createCustomer({ customer: { customerId: "cus_a", legalName: "A", email: "a@x.test", currency: "USD" } });
      pricer.subs.set("sub_a", { customerId: "cus_a", currency: "USD", amounts: ["10", "2.5"] });
      await publishSubscription(env, "sub_a", "cus_a", new Date("2026-11-01T00:00:00Z"));
      await eventually(async () => {
        const { rows } = await app.service.deps.pool.query("SELECT 1 FROM subscriptions WHERE subscription_id = 'sub_a'");
        expect(rows).toHaveLength(1);
      });
      clock.set("2026-12-01T00:00:01Z");
      pricer.failing = new ConnectError("rating is down", Code.Unavailable);
      expect(ConnectError.from(await app.client.runBillingCycle({}).catch((e: unknown) => e)).code).toBe(Code.Unavailable);
      expect((await app.client.listInvoices({ customerId: "cus_a" })).invoices).toHaveLength(0);
      pricer.failing = undefined;
      expect((await app.client.runBillingCycle({})).draftsCreated).toBe(1);
      expect((await app.client.runBillingCycle({})).draftsCreated).toBe(0);
      const { invoices } = await app.client.listInvoices({ customerId: "cus_a" });
      expect(invoices.map((i) => [i.lines.length, i.total])).toEqual([[2, "12.50"]]);
    } finally {
      await app.stop();
    }
  });

  it("an instance killed (SIGKILL) mid-close leaves nothing; after restart there is exactly one complete draft", async () => {
    const pricer = new FakePricer();
    const setup = await startInvoicing(env, clock, pricer);
    await setup.client.createCustomer({ customer: { customerId: "cus_b", legalName: "B", email: "b@x.test", currency: "USD", gracePeriod: { seconds: 86_400n } } });
    pricer.subs.set("sub_b", { customerId: "cus_b", currency: "USD", amounts: ["1", "2", "3"] });
    await publishSubscription(env, "sub_b", "cus_b", new Date("2026-11-01T00:00:00Z"));
    await eventually(async () => {
      const { rows } = await setup.service.deps.pool.query("SELECT 1 FROM subscriptions WHERE subscription_id = 'sub_b'");
      expect(rows).toHaveLength(1);
    });
    await setup.stop();

    // Another process claims the period, transaction open, waiting on rating: killed there.
    const config = env.config("invoicing");
    const childEnv = { DATABASE_URL: config.databaseUrl, NATS_URL: config.natsUrl, NATS_PREFIX: config.natsPrefix, GRPC_ADDRESS: "127.0.0.1:0", API_KEYS: "k:key_0123456789abcdef:read", LOG_LEVEL: "silent" };
    const child = spawn(process.execPath, ["--require", path.join(__dirname, "../../../tools/ts-node-register.js"), path.join(__dirname, "testing/close-then-hang.ts"), JSON.stringify(childEnv), clock.now().toISOString()], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve) => child.stdout!.on("data", (d: Buffer) => d.toString().includes("entered") && resolve()));
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));

    const restarted = await startInvoicing(env, clock, pricer);
    try {
      // The dead session's locks go with it; the period is closed once, completely.
      const created = await eventually(async () => {
        const r = await restarted.client.runBillingCycle({});
        expect(r.draftsCreated).toBe(1);
        return r;
      });
      expect(created.periodsDeferred).toBe(0);
      expect((await restarted.client.runBillingCycle({})).draftsCreated).toBe(0);
      const { invoices } = await restarted.client.listInvoices({ customerId: "cus_b" });
      expect(invoices.map((i) => [i.lines.length, i.subtotal, i.total])).toEqual([[3, "6", "6.00"]]);
    } finally {
      await restarted.stop();
    }
  });
});

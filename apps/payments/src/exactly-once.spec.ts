import { spawn } from "node:child_process";
import * as path from "node:path";
import { TEST_API_KEYS } from "@tally/platform/testing";
import { signPayload } from "../../../tools/stripe-local/src";
import { PaymentsHarness, STRIPE_KEY, WEBHOOK_SECRET, waitFor, type PaymentsInstance } from "./testing/payments-harness";

// Every fault that could charge an invoice twice, forced; each ends with one charge at the
// provider, one PaymentSucceeded, and a reconciliation with no mismatch.
describe("exactly-once charging", () => {
  let h: PaymentsHarness;
  let p: PaymentsInstance;
  beforeAll(async () => {
    h = await PaymentsHarness.create(new Date().toISOString());
    p = await h.start({ stripeTimeoutMs: 500 });
  });
  afterAll(async () => {
    await p.stop();
    await h.close();
  });

  async function customer(id: string) {
    await p.client.setDefaultPaymentMethod({ customerId: id, paymentMethod: "pm_card_visa" });
  }

  async function attemptStatus(invoiceId: string): Promise<string | undefined> {
    const { rows } = await p.running.deps.pool.query<{ status: string }>(`SELECT status FROM attempts WHERE invoice_id = $1 ORDER BY attempt_number DESC`, [invoiceId]);
    return rows[0]?.status;
  }

  async function expectOneCollection(invoiceId: string) {
    await waitFor(() => h.published.succeeded.some((e) => e.attempt?.invoiceId === invoiceId), 10_000, `PaymentSucceeded for ${invoiceId}`);
    expect(h.chargesFor(invoiceId)).toHaveLength(1);
    expect(h.published.succeeded.filter((e) => e.attempt?.invoiceId === invoiceId)).toHaveLength(1);
  }

  async function expectReconciled() {
    await h.stripe.webhooks.idle();
    await p.app.webhooks.idle();
    const start = new Date(h.clock.now().getTime() - 3600_000);
    const r = await p.app.reconciliation.reconcile(start, new Date(h.clock.now().getTime() + 3600_000), "USD");
    expect(r.mismatches).toEqual([]);
  }

  it("lost response after the charge (twice, so the client's own retry fails too): replaying the key finds the one charge", async () => {
    await customer("c_lost");
    h.stripe.webhooks.faults = { hold: true }; // only the replay may decide
    h.stripe.faults.add({ action: "lose_response", method: "POST", path: "/v1/payment_intents", times: 2 });
    await h.finalized(h.invoice("inv_lost", "c_lost", "12.00"));
    await waitFor(() => h.chargesFor("inv_lost").length === 1, 10_000, "the charge at the provider");
    await waitFor(async () => (await attemptStatus("inv_lost")) === "pending");
    expect(await p.app.collector.resolvePending(0)).toBe(1);
    expect(await attemptStatus("inv_lost")).toBe("succeeded");
    h.stripe.webhooks.faults = {};
    h.stripe.webhooks.release();
    await expectOneCollection("inv_lost");
    await expectReconciled();
  });

  it("a response later than the client's timeout: pending until replayed, one charge", async () => {
    await customer("c_slow");
    h.stripe.webhooks.faults = { hold: true };
    h.stripe.faults.add({ action: "delay_response", method: "POST", path: "/v1/payment_intents", delayMs: 1_500, times: 2 });
    await h.finalized(h.invoice("inv_slow", "c_slow", "8.00"));
    await waitFor(async () => (await attemptStatus("inv_slow")) === "pending" && h.chargesFor("inv_slow").length === 1);
    await waitFor(async () => (await p.app.collector.resolvePending(0)) >= 0 && (await attemptStatus("inv_slow")) === "succeeded", 10_000, "replay");
    h.stripe.webhooks.faults = {};
    h.stripe.webhooks.release();
    await expectOneCollection("inv_slow");
    await expectReconciled();
  });

  it("a 500 before the charge: the replay makes the one charge", async () => {
    await customer("c_500");
    h.stripe.faults.add({ action: "error_500", method: "POST", path: "/v1/payment_intents" });
    await h.finalized(h.invoice("inv_500", "c_500", "4.00"));
    await waitFor(async () => (await attemptStatus("inv_500")) === "pending");
    expect(h.chargesFor("inv_500")).toHaveLength(0);
    await p.app.collector.resolvePending(0);
    await expectOneCollection("inv_500");
  });

  it("webhooks twice and out of order decide once and never move an attempt backwards", async () => {
    await customer("c_hooks");
    h.stripe.webhooks.faults = { hold: true };
    h.stripe.faults.add({ action: "lose_response", method: "POST", path: "/v1/payment_intents", times: 2 }); // the webhook decides
    await h.finalized(h.invoice("inv_hooks", "c_hooks", "6.00"));
    await waitFor(async () => (await attemptStatus("inv_hooks")) === "pending" && h.stripe.webhooks.heldCount >= 3);
    h.stripe.webhooks.faults = { duplicate: true };
    h.stripe.webhooks.release("reverse"); // payment_intent.succeeded first, payment_intent.created (requires_confirmation) last
    h.stripe.webhooks.release("reverse");
    await h.stripe.webhooks.idle();
    await p.app.webhooks.idle();
    expect(await attemptStatus("inv_hooks")).toBe("succeeded");
    // a late `processing` for the same intent, delivered twice
    const [pi] = [...h.stripe.api.paymentIntents.values()].filter((x) => (x.metadata as Record<string, string>).tally_invoice_id === "inv_hooks");
    const late = JSON.stringify({ id: "evt_late_processing", object: "event", type: "payment_intent.processing", created: 0, data: { object: { ...pi, status: "processing" } } });
    for (let i = 0; i < 2; i++) expect((await postWebhook(p, late, signature(late))).status).toBe(200);
    await p.app.webhooks.idle();
    expect(await attemptStatus("inv_hooks")).toBe("succeeded");
    const { rows } = await p.running.deps.pool.query(`SELECT count(*)::int AS n FROM webhook_events WHERE id = 'evt_late_processing'`);
    expect(rows[0].n).toBe(1);
    h.stripe.webhooks.faults = {};
    await expectOneCollection("inv_hooks");
    await expectReconciled();
  });

  it("a bad or stale signature is a 400 and nothing is stored", async () => {
    const body = JSON.stringify({ id: "evt_forged", object: "event", type: "payment_intent.succeeded", created: 0, data: { object: { id: "pi_x", object: "payment_intent", metadata: {} } } });
    const now = Math.floor(h.clock.now().getTime() / 1000);
    expect((await postWebhook(p, body, signature(body, now, "whsec_wrong"))).status).toBe(400);
    expect((await postWebhook(p, body, signature(body, now - 600))).status).toBe(400);
    expect((await postWebhook(p, body, "t=1,v1=deadbeef")).status).toBe(400);
    expect((await postWebhook(p, body, signature(body.replace("pi_x", "pi_y"), now))).status).toBe(400);
    const { rows } = await p.running.deps.pool.query(`SELECT count(*)::int AS n FROM webhook_events WHERE id = 'evt_forged'`);
    expect(rows[0].n).toBe(0);
  });

  it("a redelivered InvoiceFinalized (same and new event id) charges once", async () => {
    await customer("c_redeliver");
    const invoice = h.invoice("inv_redeliver", "c_redeliver", "2.00");
    await Promise.all([h.finalized(invoice), h.finalized(invoice, "evt-a"), h.finalized(invoice, "evt-b")]);
    await expectOneCollection("inv_redeliver");
    await waitFor(async () => (await p.app.collector.resolvePending(0)) === 0);
    expect(h.chargesFor("inv_redeliver")).toHaveLength(1);
  });

  it("two instances on one stream: every invoice charged once", async () => {
    const second = await h.start({ stripeTimeoutMs: 500 }, { webhooks: false });
    try {
      const ids = Array.from({ length: 40 }, (_, i) => `inv_two_${i}`);
      for (const [i, id] of ids.entries()) {
        await customer(`c_two_${i % 4}`);
        const invoice = h.invoice(id, `c_two_${i % 4}`, "1.25");
        await h.finalized(invoice);
        await h.finalized(invoice, `evt-again-${id}`); // the same invoice again, possibly to the other instance
      }
      await waitFor(() => ids.every((id) => h.published.succeeded.some((e) => e.attempt?.invoiceId === id)), 20_000, "all collected");
      await Promise.all([p.app.collector.resolvePending(0), second.app.collector.resolvePending(0)]);
      for (const id of ids) expect(h.chargesFor(id)).toHaveLength(1);
    } finally {
      await second.stop();
    }
    await expectReconciled();
  }, 60_000);

  it("kill -9 mid-attempt (the charge made, the answer never recorded): the restarted service finds the one charge", async () => {
    await customer("c_kill");
    h.stripe.webhooks.faults = { hold: true };
    // The child's call hangs after the charge is made, until the child is killed.
    h.stripe.faults.add({ action: "delay_response", method: "POST", path: "/v1/payment_intents", delayMs: 60_000 });
    const root = path.resolve(__dirname, "../../..");
    const cfg = h.env.config("payments");
    const child = spawn(process.execPath, ["--require", path.join(root, "tools/ts-node-register.js"), path.join(__dirname, "testing/payments-child.ts")], {
      env: {
        ...process.env,
        DATABASE_URL: h.env.database.url,
        NATS_URL: cfg.natsUrl,
        NATS_PREFIX: h.env.natsPrefix,
        API_KEYS: TEST_API_KEYS,
        GRPC_ADDRESS: "127.0.0.1:0",
        LOG_LEVEL: "silent",
        STRIPE_SECRET_KEY: STRIPE_KEY,
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        STRIPE_API_BASE: h.stripe.url,
        STRIPE_TIMEOUT_MS: "120000",
        PAYMENTS_WEBHOOK_ADDRESS: "127.0.0.1:0",
        PAYMENTS_SWEEP_INTERVAL_MS: "600000",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = new Promise((resolve) => child.on("exit", resolve));
    try {
      // Only the child consumes while it lives: stop this file's instance first.
      await p.stop();
      await waitFor(() => new Promise<boolean>((resolve) => child.stdout!.once("data", (d: Buffer) => resolve(d.toString().includes("ready")))), 30_000, "child ready");
      await h.finalized(h.invoice("inv_kill", "c_kill", "15.00"));
      await waitFor(() => h.chargesFor("inv_kill").length === 1, 15_000, "the charge at the provider");
      expect(child.kill("SIGKILL")).toBe(true);
      await exited;
      expect(await attemptStatusIn(h, "inv_kill")).toBe("pending");
      h.clock.set(new Date(Date.now() + 1000)); // the child ran on the system clock
      p = await h.start({ stripeTimeoutMs: 500 }); // its start resolves unfinished attempts
      expect(await attemptStatus("inv_kill")).toBe("succeeded");
      h.stripe.webhooks.faults = {};
      h.stripe.webhooks.release();
      await expectOneCollection("inv_kill");
      await expectReconciled();
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  }, 60_000);

  function signature(payload: string, t = Math.floor(h.clock.now().getTime() / 1000), secret = WEBHOOK_SECRET): string {
    return signPayload(payload, secret, t);
  }
});

async function attemptStatusIn(h: PaymentsHarness, invoiceId: string): Promise<string | undefined> {
  const { Client } = await import("pg");
  const client = new Client({ connectionString: h.env.database.url, options: "-c search_path=payments" });
  await client.connect();
  try {
    const { rows } = await client.query<{ status: string }>(`SELECT status FROM attempts WHERE invoice_id = $1`, [invoiceId]);
    return rows[0]?.status;
  } finally {
    await client.end();
  }
}

async function postWebhook(p: PaymentsInstance, body: string, signature: string): Promise<Response> {
  return fetch(`http://${p.app.webhookAddress}/stripe/webhooks`, { method: "POST", body, headers: { "stripe-signature": signature, "content-type": "application/json" } });
}


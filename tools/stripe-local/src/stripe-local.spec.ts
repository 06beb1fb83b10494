import * as http from "node:http";
import type { AddressInfo } from "node:net";
import Stripe from "stripe";
import { parseForm } from "./form";
import { startStripeLocal, type StripeLocal } from "./server";

// Checked with the real `stripe` client against Stripe's documented behaviour: objects, error
// types and codes (https://docs.stripe.com/api/errors), idempotent requests
// (https://docs.stripe.com/api/idempotent_requests) and webhook signatures
// (https://docs.stripe.com/webhooks#verify-events).

const SECRET = "whsec_test_local";

function client(server: StripeLocal, timeout?: number): Stripe {
  return new Stripe("sk_test_local", { host: server.host, port: server.port, protocol: "http", maxNetworkRetries: 0, ...(timeout ? { timeout } : {}) });
}

async function customerWith(stripe: Stripe, token: string): Promise<{ customer: string; pm: string }> {
  const customer = await stripe.customers.create({ metadata: { tally_customer_id: "c1" } });
  const pm = await stripe.paymentMethods.attach(token, { customer: customer.id });
  await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
  return { customer: customer.id, pm: pm.id };
}

function charge(stripe: Stripe, c: { customer: string; pm: string }, amount = 1999, metadata: Record<string, string> = {}, idempotencyKey?: string) {
  return stripe.paymentIntents.create(
    { amount, currency: "usd", customer: c.customer, payment_method: c.pm, confirm: true, off_session: true, metadata },
    idempotencyKey ? { idempotencyKey } : undefined,
  );
}

describe("form encoding", () => {
  it("decodes nested keys and indexed arrays as Stripe's client sends them", () => {
    expect(parseForm("amount=100&metadata[a]=b&expand[0]=x&expand[1]=y&created[gte]=5")).toEqual({
      amount: "100",
      metadata: { a: "b" },
      expand: ["x", "y"],
      created: { gte: "5" },
    });
  });
});

describe("stripe-local API", () => {
  let server: StripeLocal;
  let stripe: Stripe;
  beforeAll(async () => {
    server = await startStripeLocal();
    stripe = client(server);
  });
  afterAll(() => server.close());

  it("creates and retrieves customers; an unknown id is a 404 resource_missing", async () => {
    const created = await stripe.customers.create({ email: "a@example.com", metadata: { tally_customer_id: "c1" } });
    expect(created).toMatchObject({ object: "customer", email: "a@example.com", metadata: { tally_customer_id: "c1" } });
    expect((await stripe.customers.retrieve(created.id)).id).toBe(created.id);
    await expect(stripe.customers.retrieve("cus_missing")).rejects.toMatchObject({ type: "StripeInvalidRequestError", statusCode: 404, code: "resource_missing" });
  });

  it("rejects a wrong API key with 401", async () => {
    const bad = new Stripe("rk_live_nope", { host: server.host, port: server.port, protocol: "http", maxNetworkRetries: 0 });
    await expect(bad.customers.create({})).rejects.toMatchObject({ type: "StripeAuthenticationError", statusCode: 401 });
  });

  it("charges pm_card_visa off-session: succeeded, amount_received set, a charge id", async () => {
    const pi = await charge(stripe, await customerWith(stripe, "pm_card_visa"));
    expect(pi).toMatchObject({ object: "payment_intent", status: "succeeded", amount: 1999, amount_received: 1999, currency: "usd" });
    expect(pi.latest_charge).toMatch(/^ch_/);
  });

  it.each([
    ["pm_card_chargeDeclined", "card_declined", "generic_decline"],
    ["pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"],
    ["pm_card_authenticationRequired", "authentication_required", "authentication_required"],
  ])("%s off-session: 402 card_error %s / %s, the intent back to requires_payment_method", async (token, code, declineCode) => {
    const err = await charge(stripe, await customerWith(stripe, token)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
    const card = err as Stripe.errors.StripeCardError;
    expect(card).toMatchObject({ statusCode: 402, code, decline_code: declineCode });
    expect(card.payment_intent).toMatchObject({ status: "requires_payment_method", last_payment_error: { code } });
  });

  it("pm_card_authenticationRequired on-session waits for the customer: requires_action", async () => {
    const c = await customerWith(stripe, "pm_card_authenticationRequired");
    const pi = await stripe.paymentIntents.create({ amount: 500, currency: "usd", customer: c.customer, payment_method: c.pm, confirm: true });
    expect(pi).toMatchObject({ status: "requires_action", next_action: { type: "use_stripe_sdk" } });
  });

  it("replays the stored response for the same key and parameters; another body is a 400 idempotency_error", async () => {
    const c = await customerWith(stripe, "pm_card_visa");
    const first = await charge(stripe, c, 700, { invoice: "i1" }, "key-1");
    const again = await charge(stripe, c, 700, { invoice: "i1" }, "key-1");
    expect(again.id).toBe(first.id);
    expect(again.lastResponse.headers["idempotent-replayed"]).toBe("true");
    await expect(charge(stripe, c, 701, { invoice: "i1" }, "key-1")).rejects.toMatchObject({ type: "StripeIdempotencyError", statusCode: 400 });
    expect((await stripe.paymentIntents.search({ query: "metadata['invoice']:'i1'" })).data).toHaveLength(1);
  });

  it("replays a decline too (it was executed)", async () => {
    const c = await customerWith(stripe, "pm_card_chargeDeclined");
    const first = (await charge(stripe, c, 900, {}, "key-d").catch((e: unknown) => e)) as Stripe.errors.StripeCardError;
    const again = (await charge(stripe, c, 900, {}, "key-d").catch((e: unknown) => e)) as Stripe.errors.StripeCardError;
    expect(again.payment_intent?.id).toBe(first.payment_intent?.id);
  });

  it("searches by metadata and amount, pages with next_page, lists by customer and created", async () => {
    const c = await customerWith(stripe, "pm_card_visa");
    for (let i = 0; i < 5; i++) await charge(stripe, c, 100 + i, { batch: "b1" });
    const page = await stripe.paymentIntents.search({ query: "metadata['batch']:'b1' AND amount>=102", limit: 2 });
    expect(page).toMatchObject({ object: "search_result", has_more: true });
    const all: number[] = [];
    for await (const pi of stripe.paymentIntents.search({ query: "metadata['batch']:'b1' AND amount>=102", limit: 2 })) all.push(pi.amount);
    expect(all.sort()).toEqual([102, 103, 104]);
    const listed: string[] = [];
    for await (const pi of stripe.paymentIntents.list({ customer: c.customer, limit: 2, created: { gte: 0 } })) listed.push(pi.id);
    expect(listed).toHaveLength(5);
    await expect(stripe.paymentIntents.search({ query: "metadata['x']:'1' AND a:'1' OR b:'2'" })).rejects.toMatchObject({ statusCode: 400 });
  });

  it("refunds partially, never beyond what was paid, then nothing once fully refunded", async () => {
    const pi = await charge(stripe, await customerWith(stripe, "pm_card_visa"), 1000);
    expect(await stripe.refunds.create({ payment_intent: pi.id, amount: 400 })).toMatchObject({ object: "refund", status: "succeeded", amount: 400, payment_intent: pi.id });
    await expect(stripe.refunds.create({ payment_intent: pi.id, amount: 700 })).rejects.toMatchObject({ statusCode: 400, code: "amount_too_large" });
    expect((await stripe.refunds.create({ payment_intent: pi.id })).amount).toBe(600);
    await expect(stripe.refunds.create({ payment_intent: pi.id, amount: 1 })).rejects.toMatchObject({ code: "charge_already_refunded" });
    expect((await stripe.refunds.list({ payment_intent: pi.id })).data.map((r) => r.amount)).toEqual([600, 400]);
  });

  it("500 fault: api_error before any work, and the key may be retried", async () => {
    const c = await customerWith(stripe, "pm_card_visa");
    server.faults.add({ action: "error_500", path: "/v1/payment_intents", method: "POST" });
    await expect(charge(stripe, c, 321, { f: "500" }, "key-500")).rejects.toMatchObject({ type: "StripeAPIError", statusCode: 500 });
    expect((await stripe.paymentIntents.search({ query: "metadata['f']:'500'" })).data).toHaveLength(0);
    expect((await charge(stripe, c, 321, { f: "500" }, "key-500")).status).toBe("succeeded");
  });

  it("faults set from another process are listed until served (/_stripe_local/faults/pending)", async () => {
    const control = async (path: string, body?: unknown) => {
      const res = await fetch(`${server.url}/_stripe_local/${path}`, { method: "POST", ...(body !== undefined && { body: JSON.stringify(body) }) });
      return res.status === 204 ? undefined : ((await res.json()) as { pending: { action: string; times: number }[] });
    };
    await control("faults", { faults: [{ action: "error_500", path: "/v1/payment_intents", method: "POST", times: 2 }] });
    expect((await control("faults/pending"))!.pending).toMatchObject([{ action: "error_500", times: 2 }]);
    const c = await customerWith(stripe, "pm_card_visa");
    await expect(charge(stripe, c, 222, { f: "pending" }, "key-pending")).rejects.toMatchObject({ statusCode: 500 });
    expect((await control("faults/pending"))!.pending).toMatchObject([{ action: "error_500", times: 1 }]);
    await expect(charge(stripe, c, 222, { f: "pending" }, "key-pending")).rejects.toMatchObject({ statusCode: 500 });
    expect((await control("faults/pending"))!.pending).toEqual([]);
  });

  it("lost response: the client's own retry of a closed connection (same key) gets the stored charge", async () => {
    const c = await customerWith(stripe, "pm_card_visa");
    server.faults.add({ action: "lose_response", path: "/v1/payment_intents", method: "POST" });
    const pi = await charge(stripe, c, 554, { f: "lost-once" }, "key-lost-once");
    expect(pi.lastResponse.headers["idempotent-replayed"]).toBe("true");
    expect((await stripe.paymentIntents.search({ query: "metadata['f']:'lost-once'" })).data.map((p) => p.id)).toEqual([pi.id]);
  });

  it("lost response twice: the charge is made, the client hears nothing, a later retry with the key gets that one charge", async () => {
    const c = await customerWith(stripe, "pm_card_visa");
    server.faults.add({ action: "lose_response", path: "/v1/payment_intents", method: "POST", times: 2 });
    await expect(charge(stripe, c, 555, { f: "lost" }, "key-lost")).rejects.toBeInstanceOf(Stripe.errors.StripeConnectionError);
    const replay = await charge(stripe, c, 555, { f: "lost" }, "key-lost");
    expect(replay.status).toBe("succeeded");
    expect((await stripe.paymentIntents.search({ query: "metadata['f']:'lost'" })).data.map((p) => p.id)).toEqual([replay.id]);
  });

  it("delayed response past the client timeout: the client gives up, the charge exists", async () => {
    const c = await customerWith(stripe, "pm_card_visa");
    server.faults.add({ action: "delay_response", path: "/v1/payment_intents", method: "POST", delayMs: 400, times: 2 });
    await expect(charge(client(server, 100), c, 556, { f: "slow" })).rejects.toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect((await stripe.paymentIntents.search({ query: "metadata['f']:'slow'" })).data[0]?.status).toBe("succeeded");
  });

  it("decline fault declines a card that would succeed", async () => {
    server.faults.add({ action: "decline", declineCode: "do_not_honor" });
    await expect(charge(stripe, await customerWith(stripe, "pm_card_visa"))).rejects.toMatchObject({ decline_code: "do_not_honor" });
  });
});

describe("stripe-local webhooks", () => {
  let receiver: http.Server;
  const received: { body: string; signature: string }[] = [];
  let server: StripeLocal;
  let stripe: Stripe;
  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        received.push({ body, signature: String(req.headers["stripe-signature"]) });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    server = await startStripeLocal({ webhookUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, webhookSecret: SECRET });
    stripe = client(server);
  });
  afterAll(async () => {
    await server.close();
    await new Promise((r) => receiver.close(r));
  });
  beforeEach(() => (received.length = 0));

  const types = () => received.map((r) => (JSON.parse(r.body) as Stripe.Event).type);

  it("signs every event so that constructEvent verifies it; a tampered body fails", async () => {
    await charge(stripe, await customerWith(stripe, "pm_card_visa"));
    await server.webhooks.idle();
    const event = stripe.webhooks.constructEvent(received.at(-1)!.body, received.at(-1)!.signature, SECRET);
    expect(event.type).toBe("payment_intent.succeeded");
    expect(() => stripe.webhooks.constructEvent(received.at(-1)!.body.replace("succeeded", "canceled"), received.at(-1)!.signature, SECRET)).toThrow(
      Stripe.errors.StripeSignatureVerificationError,
    );
  });

  it("delivers twice, and holds then delivers in reverse order, as told", async () => {
    const c = await customerWith(stripe, "pm_card_visa");
    received.length = 0;
    server.webhooks.faults = { duplicate: true };
    await charge(stripe, c);
    await server.webhooks.idle();
    expect(types().filter((t) => t === "payment_intent.succeeded")).toHaveLength(2);

    received.length = 0;
    server.webhooks.faults = { hold: true };
    await charge(stripe, c);
    expect(server.webhooks.heldCount).toBe(3);
    server.webhooks.faults = {};
    server.webhooks.release("reverse");
    await server.webhooks.idle();
    expect(types()).toEqual(["payment_intent.succeeded", "charge.succeeded", "payment_intent.created"]);
  });
});

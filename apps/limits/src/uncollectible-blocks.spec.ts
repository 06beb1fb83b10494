import { create, toBinary } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { limits as pb, payments, SUBJECTS } from "@tally/contracts";
import { startService, type RunningService } from "@tally/platform";
import { createTestClient, createTestEnvironment, ManualClock, TEST_KEYS, type TestClient, type TestEnvironment } from "@tally/platform/testing";
import { limitsService } from "./limits-service";
import { eventually, RatingEvents } from "./testing/rating-events";

const JAN = { periodStart: "2026-01-01T00:00:00Z", periodEnd: "2026-02-01T00:00:00Z" };

// Payments' DunningExhausted / PaymentSucceeded, consumed by the running service from NATS, decide
// whether a customer who blocks on an uncollectible invoice may use anything.
describe("blocking usage on an uncollectible invoice", () => {
  let env: TestEnvironment;
  let running: RunningService;
  let test: TestClient<typeof pb.Limits>;
  let client: TestClient<typeof pb.Limits>["client"];
  const clock = new ManualClock("2026-01-10T00:00:00Z");

  beforeAll(async () => {
    env = await createTestEnvironment();
    running = await startService(limitsService, env.config("limits"), { clock });
    test = createTestClient(pb.Limits, running.address, TEST_KEYS.all);
    client = test.client;
    const rated = new RatingEvents(env.bus);
    await rated.plan("pro", "USD", [{ key: "tokens", meterKey: "tokens", unitAmount: "0.01" }]);
    for (const customerId of ["c-block", "c-noblock", "c-late"]) await rated.subscription({ customerId, planKey: "pro", ...JAN, revision: 1 });
    await eventually(async () => (await client.check({ customerId: "c-late", meterKey: "tokens" }).catch(() => undefined))?.allowed === true, "subscriptions");
  }, 30_000);

  afterAll(async () => {
    test?.close();
    await running?.stop();
    await env?.close();
  });

  const attempt = (invoiceId: string, customerId: string) => ({ id: `pay_${invoiceId}_1`, invoiceId, customerId, amount: { currency: "USD", amount: "10" } });

  async function dunningExhausted(invoiceId: string, customerId: string, eventId = `de-${invoiceId}`) {
    const e = create(payments.DunningExhaustedSchema, { meta: { id: eventId }, invoiceId, customerId, lastAttempt: attempt(invoiceId, customerId) });
    await env.bus.publish(SUBJECTS.payments.dunningExhausted, toBinary(payments.DunningExhaustedSchema, e), `${eventId}-${Date.now()}`);
  }

  async function paymentSucceeded(invoiceId: string, customerId: string) {
    const e = create(payments.PaymentSucceededSchema, { meta: { id: `ps-${invoiceId}` }, attempt: attempt(invoiceId, customerId) });
    await env.bus.publish(SUBJECTS.payments.paymentSucceeded, toBinary(payments.PaymentSucceededSchema, e), `ps-${invoiceId}`);
  }

  const plain = (customerId: string) => client.check({ customerId, meterKey: "tokens", quantity: "1" });
  const reserve = (customerId: string, key: string) => client.check({ customerId, meterKey: "tokens", quantity: "1", reserve: true, reservationTtl: durationFromMs(60_000), idempotencyKey: key });

  it("denies every Check (plain and reserving, nothing held) while an invoice is uncollectible, until it is paid", async () => {
    const set = await client.setCustomerBilling({ customerId: "c-block", prepaidOnly: false, blockOnUncollectible: true });
    expect(set.billing).toMatchObject({ blockOnUncollectible: true, uncollectibleInvoiceIds: [] });
    expect((await plain("c-block")).allowed).toBe(true);

    await dunningExhausted("inv-b1", "c-block");
    await eventually(async () => (await plain("c-block")).reason === pb.DenyReason.INVOICE_UNCOLLECTIBLE, "blocked");
    const held = await reserve("c-block", "r-1");
    expect(held).toMatchObject({ allowed: false, reason: pb.DenyReason.INVOICE_UNCOLLECTIBLE, reservationId: "" });
    expect((await client.setCustomerBilling({ customerId: "c-block", prepaidOnly: false })).billing).toMatchObject({
      blockOnUncollectible: true, // unset in the request: left as it was
      uncollectibleInvoiceIds: ["inv-b1"],
    });

    await paymentSucceeded("inv-b1", "c-block");
    await eventually(async () => (await plain("c-block")).allowed, "unblocked once paid");
    expect((await reserve("c-block", "r-2")).reservationId).not.toBe("");
  });

  it("a customer not blocking on it (the service default, false) keeps using", async () => {
    await dunningExhausted("inv-n1", "c-noblock");
    await eventually(async () => (await client.setCustomerBilling({ customerId: "c-noblock", prepaidOnly: false })).billing?.uncollectibleInvoiceIds.includes("inv-n1") === true, "recorded");
    expect(await plain("c-noblock")).toMatchObject({ allowed: true });
    // Turning it on blocks at once; off again, allowed.
    await client.setCustomerBilling({ customerId: "c-noblock", prepaidOnly: false, blockOnUncollectible: true });
    expect(await plain("c-noblock")).toMatchObject({ allowed: false, reason: pb.DenyReason.INVOICE_UNCOLLECTIBLE });
    await client.setCustomerBilling({ customerId: "c-noblock", prepaidOnly: false, blockOnUncollectible: false });
    expect(await plain("c-noblock")).toMatchObject({ allowed: true });
  });

  it("a DunningExhausted handled after the invoice's PaymentSucceeded (late, redelivered) does not block again", async () => {
    await client.setCustomerBilling({ customerId: "c-late", prepaidOnly: false, blockOnUncollectible: true });
    await paymentSucceeded("inv-l1", "c-late");
    await dunningExhausted("inv-l1", "c-late", "de-inv-l1-late");
    await dunningExhausted("inv-l2", "c-late"); // a marker behind it on the same stream
    await eventually(async () => (await plain("c-late")).reason === pb.DenyReason.INVOICE_UNCOLLECTIBLE, "the marker applied");
    expect((await client.setCustomerBilling({ customerId: "c-late", prepaidOnly: false })).billing?.uncollectibleInvoiceIds).toEqual(["inv-l2"]);
  });
});

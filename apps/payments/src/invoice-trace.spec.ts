import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { invoicing, payments as pb, SUBJECTS } from "@tally/contracts";
import { parseTraceparent } from "@tally/platform";
import { PaymentsHarness, waitFor, type PaymentsInstance } from "./testing/payments-harness";

const CYCLE_A = "0af7651916cd43dd8448eb211c80319c";
const CYCLE_B = "4bf92f3577b34da6a3ce929d0e0e4736";

/**
 * Each invoice is charged in the trace its InvoiceFinalized came with, also when one consumer
 * batch holds invoices of two billing cycles: the provider call carries it as a `traceparent`
 * header and PaymentSucceeded goes out in it.
 */
describe("payments continue the trace of each finalized invoice", () => {
  let h: PaymentsHarness;
  let p: PaymentsInstance | undefined;
  const succeededTraces = new Map<string, string | undefined>();

  beforeAll(async () => {
    h = await PaymentsHarness.create();
    h.env.bus.connection.subscribe(h.env.bus.subject(SUBJECTS.payments.paymentSucceeded), {
      callback: (_err, msg) => succeededTraces.set(fromBinary(pb.PaymentSucceededSchema, msg.data).attempt!.invoiceId, parseTraceparent(msg.headers?.get("traceparent"))?.traceId),
    });
    p = await h.start();
    for (const c of ["cust_a1", "cust_a2", "cust_b1"]) await p.client.setDefaultPaymentMethod({ customerId: c, paymentMethod: "pm_card_visa" });
    // Stopped while the three are published, so its consumer fetches them together.
    await p.stop();
    p = undefined;
  });
  afterAll(async () => {
    await p?.stop();
    await h.close();
  });

  async function finalizedIn(trace: string, invoiceId: string, customerId: string): Promise<void> {
    const eventId = `evt-fin-${invoiceId}`;
    const e = create(invoicing.InvoiceFinalizedSchema, {
      meta: { id: eventId, source: "tally.invoicing", subject: SUBJECTS.invoicing.invoiceFinalized, time: timestampFromDate(h.clock.now()) },
      invoice: h.invoice(invoiceId, customerId, "10.00"),
    });
    await h.env.bus.publish(SUBJECTS.invoicing.invoiceFinalized, toBinary(invoicing.InvoiceFinalizedSchema, e), eventId, `00-${trace}-b7ad6b7169203331-01`);
  }

  it("charges and announces each invoice in its own trace", async () => {
    await finalizedIn(CYCLE_A, "inv_a1", "cust_a1");
    await finalizedIn(CYCLE_A, "inv_a2", "cust_a2");
    await finalizedIn(CYCLE_B, "inv_b1", "cust_b1");
    p = await h.start();
    await waitFor(() => succeededTraces.size === 3 || undefined, 15_000, "three PaymentSucceeded");
    expect(Object.fromEntries(succeededTraces)).toEqual({ inv_a1: CYCLE_A, inv_a2: CYCLE_A, inv_b1: CYCLE_B });
    const providerTraces = Object.fromEntries(
      h.stripe.traceparents.filter((t) => t.request === "POST /v1/payment_intents").map((t) => [t.idempotencyKey, parseTraceparent(t.traceparent)?.traceId]),
    );
    expect(providerTraces).toEqual({ "tally:inv_a1:attempt:1": CYCLE_A, "tally:inv_a2:attempt:1": CYCLE_A, "tally:inv_b1:attempt:1": CYCLE_B });
  });
});

import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { common, invoicing } from "@tally/contracts";
import { createTestEnvironment, ManualClock, type TestEnvironment } from "@tally/platform/testing";
import { eventually, FakeCredits, FakePricer, publishDunningExhausted, publishPayment, publishSubscription, startInvoicing, type RunningInvoicing } from "./testing/invoicing-test-kit";

const S = invoicing.InvoiceStatus;

async function rejection(p: Promise<unknown>): Promise<{ code: Code; reason: string; fields: string[]; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = ConnectError.from(err);
    const detail = e.findDetails(common.ErrorDetailSchema)[0];
    return { code: e.code, reason: detail?.code ?? "", fields: detail?.fieldViolations.map((v) => v.field) ?? [], message: e.rawMessage };
  }
  throw new Error("expected a rejection");
}

jest.setTimeout(20_000);

describe("invoices after the draft: currencies, finalization, void, credit notes, payments", () => {
  let env: TestEnvironment;
  let app: RunningInvoicing;
  const clock = new ManualClock("2026-11-15T00:00:00Z");
  const pricer = new FakePricer();
  const credits = new FakeCredits();

  beforeAll(async () => {
    env = await createTestEnvironment();
    app = await startInvoicing(env, clock, pricer, credits);
  });
  afterAll(async () => {
    await app?.stop();
    await env?.close();
  });

  async function customer(id: string, currency: string, extra: Omit<MessageInitShape<typeof invoicing.CustomerSchema>, "$typeName"> = {}) {
    await app.client.createCustomer({ customer: { customerId: id, legalName: `${id} Ltd`, email: `${id}@x.test`, currency, gracePeriod: { seconds: 0n }, ...extra } });
  }

  /** A subscription from November 1 whose November lines are `amounts`; returns its November invoice once drafted. */
  async function subscribed(sub: string, cus: string, currency: string, amounts: string[]) {
    pricer.subs.set(sub, { customerId: cus, currency, amounts });
    await publishSubscription(env, sub, cus, new Date("2026-11-01T00:00:00Z"));
  }

  async function invoiceOf(cus: string) {
    return eventually(async () => {
      await app.client.runBillingCycle({});
      const { invoices } = await app.client.listInvoices({ customerId: cus });
      expect(invoices).toHaveLength(1);
      return invoices[0]!;
    });
  }

  it("bills a JPY and a KWD customer to their ISO 4217 exponents, lines adding up to the total", async () => {
    await customer("cus_jp", "JPY");
    await customer("cus_kw", "KWD", { taxRates: [{ name: "VAT", percent: "5" }] });
    await subscribed("sub_jp", "cus_jp", "JPY", ["100.5", "200.5", "0.4"]); // 301.4 → 301
    await subscribed("sub_kw", "cus_kw", "KWD", ["1.0005", "2.0004"]); // 3.0009 → 3.001; VAT 5% = 0.15005 → 0.150
    clock.set("2026-12-01T00:00:01Z");
    const jp = await invoiceOf("cus_jp");
    expect([jp.total, jp.amountDue, jp.lines.map((l) => l.roundedAmount)]).toEqual(["301", "301", ["101", "200", "0"]]);
    const kw = await invoiceOf("cus_kw");
    expect([kw.total, kw.taxLines[0]!.amount, kw.amountDue]).toEqual(["3.001", "0.150", "3.151"]);
    expect(kw.lines.map((l) => l.roundedAmount)).toEqual(["1.001", "2.000"]);
  });

  it("applies credits burned in the period before taxes", async () => {
    await customer("cus_cr", "USD", { taxRates: [{ name: "VAT", percent: "10" }] });
    credits.burns.set("sub_cr@2026-11-01T00:00:00.000Z", new (await import("@tally/pricing")).Decimal("40.004"));
    await subscribed("sub_cr", "cus_cr", "USD", ["100"]);
    const inv = await invoiceOf("cus_cr");
    // 100.00 − 40.00 credits = 60.00 taxable; VAT 6.00; due 66.00.
    expect([inv.creditsApplied, inv.taxableAmount, inv.taxTotal, inv.amountDue]).toEqual(["40.00", "60.00", "6.00", "66.00"]);
  });

  it("finalizes concurrently from two instances and FinalizeInvoice with gapless numbers", async () => {
    await customer("cus_many", "EUR", { invoicePrefix: "MANY" });
    for (let n = 0; n < 12; n++) await subscribed(`sub_many_${n}`, "cus_many", "EUR", [`${n + 1}`]);
    clock.set("2026-12-01T00:00:02Z");
    const drafts = await eventually(async () => {
      await app.client.runBillingCycle({});
      const { invoices } = await app.client.listInvoices({ customerId: "cus_many" });
      expect(invoices).toHaveLength(12);
      return invoices;
    });
    const second = await startInvoicing(env, clock, pricer, credits);
    try {
      await Promise.all([
        app.client.runBillingCycle({}),
        second.client.runBillingCycle({}),
        ...drafts.slice(0, 4).map((d) => app.client.finalizeInvoice({ invoiceId: d.id })),
        ...drafts.slice(4, 8).map((d) => second.client.finalizeInvoice({ invoiceId: d.id })),
      ]);
    } finally {
      await second.stop();
    }
    const { invoices } = await app.client.listInvoices({ customerId: "cus_many" });
    expect(invoices.every((i) => i.status === S.FINALIZED)).toBe(true);
    expect(invoices.map((i) => i.number).sort()).toEqual(Array.from({ length: 12 }, (_, n) => `MANY-${String(n + 1).padStart(6, "0")}`));
  });

  it("gives a number back when the finalizing transaction dies before commit", async () => {
    await customer("cus_crash", "USD", { invoicePrefix: "CRASH", gracePeriod: { seconds: 86_400n } });
    await subscribed("sub_crash_a", "cus_crash", "USD", ["1"]);
    await subscribed("sub_crash_b", "cus_crash", "USD", ["2"]);
    const both = await eventually(async () => {
      await app.client.runBillingCycle({});
      const { invoices } = await app.client.listInvoices({ customerId: "cus_crash", status: S.DRAFT });
      expect(invoices).toHaveLength(2);
      return invoices;
    });
    const [doomed, other] = both;
    // The database fails the doomed invoice's finalizing UPDATE, after its number was taken.
    await app.service.deps.pool.query(`
      CREATE FUNCTION invoicing.fail_finalize() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.status = 'finalized' AND NEW.id = '${doomed!.id}' THEN RAISE EXCEPTION 'crash between number and commit'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER fail_finalize BEFORE UPDATE ON invoicing.invoices FOR EACH ROW EXECUTE FUNCTION invoicing.fail_finalize();`);
    try {
      expect((await rejection(app.client.finalizeInvoice({ invoiceId: doomed!.id }))).code).toBe(Code.Internal);
      expect((await app.client.finalizeInvoice({ invoiceId: other!.id })).invoice!.number).toBe("CRASH-000001");
    } finally {
      await app.service.deps.pool.query(`DROP TRIGGER fail_finalize ON invoicing.invoices; DROP FUNCTION invoicing.fail_finalize();`);
    }
    expect((await app.client.finalizeInvoice({ invoiceId: doomed!.id })).invoice!.number).toBe("CRASH-000002");
  });

  it("voids an unpaid invoice, keeping its number; refuses to void a PAID one", async () => {
    const [inv] = (await app.client.listInvoices({ customerId: "cus_crash" })).invoices;
    const voided = (await app.client.voidInvoice({ invoiceId: inv!.id, reason: "duplicate" })).invoice!;
    expect([voided.status, voided.number]).toEqual([S.VOID, inv!.number]);
    const r = await rejection(app.client.createCreditNote({ invoiceId: inv!.id, amount: { currency: "USD", amount: "1" }, reason: "x", idempotencyKey: "k-void" }));
    expect([r.code, r.reason]).toEqual([Code.FailedPrecondition, "invalid_invoice_state"]);
    expect(r.message).toContain("VOID");
  });

  it("marks PAID from PaymentSucceeded exactly once, then refuses VoidInvoice naming PAID", async () => {
    const inv = await invoiceOf("cus_jp");
    await app.client.finalizeInvoice({ invoiceId: inv.id });
    await publishPayment(env, "evt_pay_1", inv.id, "301", "JPY");
    await publishPayment(env, "evt_pay_1_redelivered", inv.id, "301", "JPY");
    const paid = await eventually(async () => {
      const i = (await app.client.getInvoice({ invoiceId: inv.id })).invoice!;
      expect(i.status).toBe(S.PAID);
      return i;
    });
    expect(paid.amountPaid).toBe("301");
    const r = await rejection(app.client.voidInvoice({ invoiceId: inv.id }));
    expect([r.code, r.message.includes("PAID")]).toEqual([Code.FailedPrecondition, true]);
  });

  it("credits a PAID invoice: idempotent by key, never beyond what is left, refund owed or balance", async () => {
    const inv = await invoiceOf("cus_jp");
    const req = { invoiceId: inv.id, amount: { currency: "JPY", amount: "100" }, reason: "goodwill", idempotencyKey: "cn-1" };
    const first = (await app.client.createCreditNote(req)).creditNote!;
    expect(first.refundDue!.amount).toBe("100");
    expect((await app.client.createCreditNote(req)).creditNote!.id).toBe(first.id);
    expect((await rejection(app.client.createCreditNote({ ...req, amount: { currency: "JPY", amount: "5" } }))).code).toBe(Code.AlreadyExists);
    const over = await rejection(app.client.createCreditNote({ ...req, idempotencyKey: "cn-2", amount: { currency: "JPY", amount: "202" } }));
    expect([over.code, over.reason, over.fields]).toEqual([Code.InvalidArgument, "invalid_argument", ["amount.amount"]]);
    const toBalance = (await app.client.createCreditNote({ ...req, idempotencyKey: "cn-3", amount: { currency: "JPY", amount: "201" }, creditToBalance: true })).creditNote!;
    expect([toBalance.refundDue!.amount, toBalance.balanceCredited!.amount]).toEqual(["0", "201"]);
    expect((await app.client.getCustomer({ customerId: "cus_jp" })).customer!.balance).toBe("201");
    const after = (await app.client.getInvoice({ invoiceId: inv.id })).invoice!;
    expect([after.amountCredited, after.amountPaid]).toEqual(["301", "0"]);
  });

  it("applies the customer's balance to the next invoice at finalization", async () => {
    pricer.subs.get("sub_jp")!.amounts = ["500"];
    clock.set("2027-01-01T00:00:01Z");
    const dec = await eventually(async () => {
      await app.client.runBillingCycle({});
      const { invoices } = await app.client.listInvoices({ customerId: "cus_jp" });
      expect(invoices).toHaveLength(2);
      return invoices[0]!;
    });
    expect(dec.status).toBe(S.FINALIZED);
    expect([dec.total, dec.balanceApplied, dec.amountDue]).toEqual(["500", "201", "299"]);
    expect((await app.client.getCustomer({ customerId: "cus_jp" })).customer!.balance).toBe("0");
  });

  it("marks UNCOLLECTIBLE from DunningExhausted", async () => {
    const { invoices } = await app.client.listInvoices({ customerId: "cus_cr" });
    const inv = invoices[invoices.length - 1]!; // November's, finalized
    expect(inv.status).toBe(S.FINALIZED);
    await publishDunningExhausted(env, "evt_dunning_1", inv.id);
    await eventually(async () => expect((await app.client.getInvoice({ invoiceId: inv.id })).invoice!.status).toBe(S.UNCOLLECTIBLE));
  });

  it("answers bad input with the right codes, naming the fields", async () => {
    expect((await rejection(app.client.getInvoice({ invoiceId: "inv_nope" }))).code).toBe(Code.NotFound);
    expect((await rejection(app.client.getCustomer({ customerId: "cus_nope" }))).code).toBe(Code.NotFound);
    const draftCredit = await rejection(app.client.createCreditNote({ invoiceId: "inv_nope", amount: { currency: "USD", amount: "1.5" }, reason: "r", idempotencyKey: "k" }));
    expect(draftCredit.code).toBe(Code.NotFound);
    const bad = await rejection(
      app.client.createCustomer({ customer: { customerId: "cus_bad", legalName: "", email: "nope", currency: "usd", netTermsDays: -1, taxRates: [{ name: "VAT", percent: "1e2" }] } }),
    );
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.fields).toEqual(["customer.legal_name", "customer.email", "customer.currency", "customer.net_terms_days", "customer.tax_rates[0].percent"]);
    const money = await rejection(app.client.createCreditNote({ invoiceId: "inv_x", amount: { currency: "USD", amount: "-1" }, reason: "", idempotencyKey: "" }));
    expect([money.code, money.fields]).toEqual([Code.InvalidArgument, ["idempotency_key", "reason", "amount.amount"]]);
    await customer("cus_same", "USD");
    await customer("cus_same", "USD"); // idempotent
    expect((await rejection(app.client.createCustomer({ customer: { customerId: "cus_same", legalName: "Other", email: "a@b", currency: "USD" } }))).code).toBe(Code.AlreadyExists);
    expect((await rejection(app.client.advanceClock({ by: { seconds: -5n } }))).code).toBe(Code.InvalidArgument);
  });
});

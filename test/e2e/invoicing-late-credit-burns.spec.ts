import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Decimal } from "@tally/pricing";
import { invoicing, limits, metering } from "@tally/contracts";
import { eventually } from "../support/platform-stack";
import { createCallsPlan, startInvoicingStack, type InvoicingStack } from "../support/invoicing-stack";

const at = (iso: string) => timestampFromDate(new Date(iso));
const S = invoicing.InvoiceStatus;

/**
 * Prepaid credits burned for late usage after the period's invoice was finalized (the month
 * harness's TLY-000163: credits_match_ledger expected 5.9, actual 5.8). Limits burns credit when it
 * consumes rating's running amount, whatever the clock says, so usage for November arriving after
 * November's invoice is issued burns more November credit. The late usage is billed as an
 * adjustment on the next invoice; the credit it burned must follow it there, and reconciliation
 * must agree with the ledger.
 */
describe("credits burned after finalization", () => {
  let stack: InvoicingStack;
  const customerId = "cus_prepaid";
  const invoices = async () => (await stack.invoicer.listInvoices({ customerId })).invoices;
  /** −Σ BURN entries: what the ledger says was burned, all periods. */
  const ledgerBurn = async () => {
    const { entries } = await stack.limiter.listLedgerEntries({ customerId, pageSize: 1000 });
    return entries.filter((e) => e.kind === limits.LedgerEntryKind.BURN).reduce((s, e) => s.minus(e.amount), new Decimal(0));
  };
  const record = async (id: string, calls: string) => {
    const r = await stack.meter.record({ event: { id, customerId, eventType: "api", time: at("2026-11-30T12:00:00Z"), properties: { calls } } });
    expect(r.result?.status).toBe(metering.EventStatus.ACCEPTED);
  };

  beforeAll(async () => {
    stack = await startInvoicingStack("2026-11-01T00:00:00Z");
    await createCallsPlan(stack, { case: "perUnit", value: { unitAmount: "0.004" } });
    await stack.invoicer.createCustomer({ customer: { customerId, legalName: customerId, email: "p@x.test", currency: "USD", gracePeriod: { seconds: 600n }, taxRates: [{ name: "VAT", percent: "10" }] } });
    await stack.rater.createSubscription({ customerId, planKey: "basic", startTime: at("2026-11-01T00:00:00Z") });
    // Limits learns the customer from rating's subscription.changed: grant once it has (idempotent key).
    await eventually(() =>
      stack.limiter.grantCredits({ customerId, amount: { currency: "USD", amount: "5" }, effectiveTime: at("2026-11-01T00:00:00Z"), idempotencyKey: "g1" }),
    );
    // 250 November calls × 0.004 = 1.00, burned from the grant.
    stack.clock.set("2026-11-30T12:00:00Z");
    await record("e1", "250");
    await eventually(async () => expect((await ledgerBurn()).toFixed()).toBe("1"));
    stack.clock.set("2026-12-01T00:20:00Z");
    await eventually(async () => {
      await stack.invoicer.runBillingCycle({});
      expect((await invoices()).map((i) => i.status)).toEqual([S.FINALIZED]);
    });
    const [november] = await invoices();
    expect([november!.total, november!.creditsApplied]).toEqual(["11.00", "1.00"]);
    // Two days later 25 more November calls (0.10): rating takes them, limits burns 0.10 more.
    stack.clock.set("2026-12-03T00:00:00Z");
    await record("e2", "25");
    await eventually(async () => expect((await ledgerBurn()).toFixed()).toBe("1.1"));
    await eventually(async () => {
      await stack.invoicer.runBillingCycle({});
      expect((await stack.invoicer.listLateAdjustments({ customerId })).adjustments).toHaveLength(1);
    });
  });
  afterAll(() => stack?.stop());

  const reconcile = () => stack.invoicer.reconcileInvoices({ periodStart: { start: at("2026-11-01T00:00:00Z"), end: at("2027-01-01T00:00:00Z") } });

  it("reconciles the issued invoice with the ledger while the late credit waits for the next invoice", async () => {
    expect((await reconcile()).findings).toEqual([]);
  });

  it("applies the late burn on the next invoice with the late usage it paid for, even if limits burned after invoicing looked", async () => {
    // The late credit recorded above is dropped, as if limits had burned after invoicing read the
    // ledger for that late usage: the next invoice's finalization must find it all the same.
    const sql = (text: string) => stack.services.find((s) => s.name === "invoicing")!.deps.pool.query(text);
    const { rowCount } = await sql(`DELETE FROM invoicing.late_adjustments WHERE kind = 'late_credit' AND amount = 0.1`);
    expect(rowCount).toBe(1);
    stack.clock.set("2027-01-01T00:20:00Z");
    await eventually(async () => {
      await stack.invoicer.runBillingCycle({});
      expect((await invoices()).map((i) => i.status)).toEqual([S.FINALIZED, S.FINALIZED]);
    });
    const [december] = await invoices();
    // $10 fee + 0.10 late usage = 10.10; the 0.10 of credit it burned is applied: 10.00 taxable.
    expect([december!.total, december!.creditsApplied, december!.taxableAmount]).toEqual(["10.10", "0.10", "10.00"]);
    expect((await reconcile()).findings).toEqual([]);
  });

  it("still finds credits that do not match the ledger", async () => {
    const sql = (text: string) => stack.services.find((s) => s.name === "invoicing")!.deps.pool.query(text);
    // Exactly one late credit, taken by December's invoice.
    const { rows } = (await sql(`SELECT l.amount, i.period_start FROM invoicing.late_adjustments l JOIN invoicing.invoices i ON i.id = l.invoice_id WHERE l.kind = 'late_credit'`)) as { rows: { amount: string; period_start: Date }[] };
    expect(rows.map((r) => [new Decimal(r.amount).toFixed(), r.period_start.toISOString()])).toEqual([["0.1", "2026-12-01T00:00:00.000Z"]]);
    await sql(`UPDATE invoicing.invoices SET credits_applied = credits_applied + 0.01 WHERE customer_id = '${customerId}'`);
    const found = (await reconcile()).findings.filter((f) => f.check === "credits_match_ledger");
    expect(found).toHaveLength(2);
  });
});

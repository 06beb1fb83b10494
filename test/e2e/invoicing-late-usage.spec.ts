import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { invoicing, metering } from "@tally/contracts";
import { Decimal } from "@tally/pricing";
import { eventually } from "../support/platform-stack";
import { createCallsPlan, startInvoicingStack, type InvoicingStack } from "../support/invoicing-stack";

const at = (iso: string) => timestampFromDate(new Date(iso));
const sumOf = (xs: string[]) => xs.reduce((s, x) => s.plus(x), new Decimal(0));
const K = invoicing.LineKind;

/**
 * Usage of November that rating prices after November's invoice was finalized (the customer's
 * grace, 10 minutes, is shorter than rating's late window, 60): never dropped, pending and listed,
 * billed once as a labelled adjustment on December's invoice, and counted by reconciliation.
 */
describe("usage received after its period was invoiced", () => {
  let stack: InvoicingStack;
  const customerId = "cus_late";

  beforeAll(async () => {
    stack = await startInvoicingStack("2026-11-01T00:00:00Z");
    await createCallsPlan(stack, { case: "graduated", value: { tiers: [{ upTo: "", unitAmount: "0.003", flatAmount: "0" }] } });
    await stack.invoicer.createCustomer({
      customer: { customerId, legalName: "Late Ltd", email: "ap@late.test", currency: "USD", gracePeriod: { seconds: BigInt(600) }, netTermsDays: 14, taxExempt: true },
    });
    await stack.rater.createSubscription({ customerId, planKey: "basic", startTime: at("2026-11-01T00:00:00Z") });
  });
  afterAll(() => stack?.stop());

  async function record(id: string, time: string, calls: string) {
    const r = await stack.meter.record({ event: { id, customerId, eventType: "api", time: at(time), properties: { calls } } });
    expect(r.result?.status).toBe(metering.EventStatus.ACCEPTED);
  }
  const invoices = async () => (await stack.invoicer.listInvoices({ customerId })).invoices;

  it("finalizes November after the customer's 10-minute grace", async () => {
    stack.clock.set("2026-11-20T00:00:00Z");
    await record("n1", "2026-11-19T00:00:00Z", "1000");
    await eventually(async () => {
      const u = await stack.rater.getCurrentUsage({ customerId });
      expect(sumOf(u.components.map((c) => c.quantity)).toFixed()).toBe("1000");
    });
    stack.clock.set("2026-12-01T00:05:00Z");
    await eventually(async () => {
      await stack.invoicer.runBillingCycle({});
      expect(await invoices()).toHaveLength(1);
    });
    stack.clock.set("2026-12-01T00:11:00Z");
    expect((await stack.invoicer.runBillingCycle({})).invoicesFinalized).toBe(1);
    const [nov] = await invoices();
    expect([nov!.status, nov!.number, nov!.total]).toEqual([invoicing.InvoiceStatus.FINALIZED, "TLY-000001", "13.00"]);
  });

  it("records November usage rated after finalization as a pending adjustment, once", async () => {
    stack.clock.set("2026-12-01T00:20:00Z");
    await record("n2-late", "2026-11-30T22:00:00Z", "333");
    const pending = await eventually(async () => {
      await stack.invoicer.runBillingCycle({});
      const { adjustments } = await stack.invoicer.listLateAdjustments({ customerId });
      expect(adjustments).toHaveLength(1);
      return adjustments;
    });
    const line = pending[0]!.line!;
    // 333 × 0.003 = 0.999: precise here, rounded once on the invoice that bills it.
    expect([line.kind, line.quantity, line.amount, line.description]).toEqual([K.LATE_USAGE_ADJUSTMENT, "333", "0.999", "usage from 2026-11-01 to 2026-12-01 received after invoicing"]);
    expect(pending[0]!.sourceInvoiceId).toBe((await invoices())[0]!.id);
    // The finalized invoice is unchanged; cycles and a second instance record nothing more.
    const second = await stack.startInvoicing();
    await Promise.all([stack.invoicer.runBillingCycle({}), second.client.runBillingCycle({})]);
    expect((await stack.invoicer.listLateAdjustments({ customerId })).adjustments).toHaveLength(1);
    expect((await invoices())[0]!.total).toBe("13.00");
  });

  it("bills it on December's invoice as a labelled line, then no longer pending", async () => {
    stack.clock.set("2027-01-01T00:05:00Z");
    const draft = await eventually(async () => {
      await stack.invoicer.runBillingCycle({});
      const all = await invoices();
      expect(all).toHaveLength(2);
      return all[0]!;
    });
    expect(draft.status).toBe(invoicing.InvoiceStatus.DRAFT);
    const late = draft.lines.filter((l) => l.kind === K.LATE_USAGE_ADJUSTMENT);
    expect(late.map((l) => [l.description, l.quantity, l.amount, l.roundedAmount])).toEqual([["usage from 2026-11-01 to 2026-12-01 received after invoicing", "333", "0.999", "1.00"]]);
    // December: fee 10 + no usage + 0.999 late = 10.999 → 11.00.
    expect(draft.total).toBe("11.00");
    stack.clock.set("2027-01-01T00:20:00Z");
    expect((await stack.invoicer.runBillingCycle({})).invoicesFinalized).toBe(1);
    const dec = (await invoices())[0]!;
    expect([dec.status, dec.number, dec.total]).toEqual([invoicing.InvoiceStatus.FINALIZED, "TLY-000002", "11.00"]);
    expect((await stack.invoicer.listLateAdjustments({ customerId })).adjustments).toEqual([]);
  });

  it("reconciliation counts the late usage billed exactly once", async () => {
    const r = await stack.invoicer.reconcileInvoices({ periodStart: { start: at("2026-11-01T00:00:00Z"), end: at("2027-01-01T00:00:00Z") } });
    expect(r.invoicesChecked).toBe(2);
    expect(r.findings).toEqual([]);
  });

  it("reconciliation reports the late usage as unbilled when its adjustment is lost", async () => {
    const sql = (text: string) => stack.services.find((s) => s.name === "invoicing")!.deps.pool.query(text);
    await sql(`DELETE FROM invoicing.late_adjustments`);
    const r = await stack.invoicer.reconcileInvoices({ periodStart: { start: at("2026-11-01T00:00:00Z"), end: at("2026-12-01T00:00:00Z") } });
    expect(r.findings.map((f) => [f.check, f.expected, f.actual])).toEqual(expect.arrayContaining([["usage_billed", "1333", "1000"]]));
  });
});

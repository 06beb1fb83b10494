import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { invoicing, metering, rating } from "@tally/contracts";
import { eventually } from "../support/platform-stack";
import { createCallsPlan, startInvoicingStack, type InvoicingStack } from "../support/invoicing-stack";

const at = (iso: string) => timestampFromDate(new Date(iso));
const K = invoicing.LineKind;
const S = invoicing.InvoiceStatus;

/**
 * Late usage adjustments are billed exactly once even when the invoice that should take them never
 * comes or is voided: a canceled subscription's adjustments go on a final adjustments invoice, and
 * a voided invoice releases the adjustments it carried to the next invoice (another final one for
 * the canceled subscription, January's for the active one).
 */
describe("late adjustments of canceled subscriptions and voided invoices", () => {
  let stack: InvoicingStack;
  const canceled = "cus_canceled";
  const active = "cus_active";

  beforeAll(async () => {
    stack = await startInvoicingStack("2026-11-01T00:00:00Z");
    await createCallsPlan(stack, { case: "perUnit", value: { unitAmount: "0.004" } });
    for (const customerId of [canceled, active]) {
      await stack.invoicer.createCustomer({ customer: { customerId, legalName: customerId, email: `${customerId}@x.test`, currency: "USD", gracePeriod: { seconds: 600n }, taxRates: [{ name: "VAT", percent: "10" }] } });
      const sub = await stack.rater.createSubscription({ customerId, planKey: "basic", startTime: at("2026-11-01T00:00:00Z") });
      if (customerId === canceled) await stack.rater.cancelSubscription({ subscriptionId: sub.subscription!.id, timing: rating.ChangeTiming.AT_PERIOD_END });
    }
    stack.clock.set("2026-12-01T00:20:00Z");
    await eventually(async () => {
      await stack.invoicer.runBillingCycle({});
      for (const customerId of [canceled, active]) expect((await invoices(customerId)).map((i) => i.status)).toEqual([S.FINALIZED]);
    });
    // Invoicing learns the cancellation from rating's subscription.changed once rating applied it.
    const sql = (text: string) => stack.services.find((s) => s.name === "invoicing")!.deps.pool.query(text);
    await eventually(async () => {
      const { rows } = (await sql(`SELECT cancel_time FROM invoicing.subscriptions WHERE customer_id = '${canceled}'`)) as { rows: { cancel_time: Date | null }[] };
      expect(rows[0]?.cancel_time).toEqual(new Date("2026-12-01T00:00:00Z"));
    });
    // Two days later, 250 November calls for each: 250 × 0.004 = 1.
    stack.clock.set("2026-12-03T00:00:00Z");
    for (const customerId of [canceled, active]) {
      const r = await stack.meter.record({ event: { id: `late-${customerId}`, customerId, eventType: "api", time: at("2026-11-30T12:00:00Z"), properties: { calls: "250" } } });
      expect(r.result?.status).toBe(metering.EventStatus.ACCEPTED);
    }
    await eventually(async () => {
      await stack.invoicer.runBillingCycle({});
      expect((await stack.invoicer.listLateAdjustments({})).adjustments).toHaveLength(2);
    });
  });
  afterAll(() => stack?.stop());

  const invoices = async (customerId: string) => (await stack.invoicer.listInvoices({ customerId })).invoices;
  const late = (i: invoicing.Invoice) => i.lines.filter((l) => l.kind === K.LATE_USAGE_ADJUSTMENT).map((l) => [l.ref, l.amount]);
  const pending = async (customerId: string) => (await stack.invoicer.listLateAdjustments({ customerId })).adjustments;
  /** Non-void invoices of the customer billing each late line, by line ref. */
  async function billedOn(customerId: string): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const i of await invoices(customerId)) {
      if (i.status === S.VOID) continue;
      for (const [ref] of late(i)) out.set(ref!, [...(out.get(ref!) ?? []), i.number]);
    }
    return out;
  }

  it("bills a canceled subscription's adjustment on a final adjustments invoice", async () => {
    const adjustment = (await pending(canceled))[0]!;
    const [final] = await invoices(canceled);
    // Created in the same cycle, open for the customer's grace like any draft.
    expect([final!.status, late(final!), final!.period?.start, final!.period?.end]).toEqual([S.DRAFT, [[`late/${adjustment.id}`, "1"]], at("2026-12-03T00:00:00Z"), at("2026-12-03T00:00:00Z")]);
    stack.clock.set("2026-12-03T00:11:00Z");
    await stack.invoicer.runBillingCycle({});
    const [issued] = await invoices(canceled);
    expect([issued!.status, issued!.lines.length, issued!.total, issued!.amountDue]).toEqual([S.FINALIZED, 1, "1.00", "1.10"]);
    expect(await pending(canceled)).toEqual([]);
    expect([...(await billedOn(canceled)).values()]).toEqual([[issued!.number]]);
  });

  it("a voided final invoice releases its adjustment to another final invoice, billed once", async () => {
    const [voided] = await invoices(canceled);
    await stack.invoicer.voidInvoice({ invoiceId: voided!.id, reason: "wrong address" });
    expect((await pending(canceled)).map((a) => a.line?.amount)).toEqual(["1"]);
    await stack.invoicer.runBillingCycle({});
    stack.clock.set("2026-12-03T00:22:00Z");
    await stack.invoicer.runBillingCycle({});
    const [next, old] = await invoices(canceled);
    expect([old!.id, old!.status]).toEqual([voided!.id, S.VOID]);
    expect([next!.status, next!.total]).toEqual([S.FINALIZED, "1.00"]);
    expect(await pending(canceled)).toEqual([]);
    expect([...(await billedOn(canceled)).values()]).toEqual([[next!.number]]);
  });

  it("an active subscription's voided invoice releases its adjustment to the next period's invoice", async () => {
    stack.clock.set("2027-01-01T00:20:00Z");
    await eventually(async () => {
      await stack.invoicer.runBillingCycle({});
      expect((await invoices(active)).map((i) => i.status)).toEqual([S.FINALIZED, S.FINALIZED]);
    });
    const [december] = await invoices(active);
    expect([late(december!).length, december!.total]).toEqual([1, "11.00"]);
    await stack.invoicer.voidInvoice({ invoiceId: december!.id, reason: "disputed" });
    expect(await pending(active)).toHaveLength(1);
    stack.clock.set("2027-02-01T00:20:00Z");
    await eventually(async () => {
      await stack.invoicer.runBillingCycle({});
      expect((await invoices(active)).map((i) => i.status)).toEqual([S.FINALIZED, S.VOID, S.FINALIZED]);
    });
    const [january] = await invoices(active);
    expect([late(january!).length, january!.total]).toEqual([1, "11.00"]);
    expect(await pending(active)).toEqual([]);
    expect([...(await billedOn(active)).values()]).toEqual([[january!.number]]);
  });

  it("reconciles: every event billed once, nothing pending", async () => {
    const r = await stack.invoicer.reconcileInvoices({ periodStart: { start: at("2026-11-01T00:00:00Z"), end: at("2027-02-01T00:00:00Z") } });
    expect(r.findings).toEqual([]);
    expect((await stack.invoicer.listLateAdjustments({})).adjustments).toEqual([]);
  });
});

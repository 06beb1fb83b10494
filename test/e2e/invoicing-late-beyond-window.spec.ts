import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { invoicing, metering } from "@tally/contracts";
import { eventually } from "../support/platform-stack";
import { createCallsPlan, startInvoicingStack, type InvoicingStack } from "../support/invoicing-stack";

const at = (iso: string) => timestampFromDate(new Date(iso));
const K = invoicing.LineKind;

/**
 * Usage recorded days after its period ended — past the 60 minutes rating used to allow — is
 * still billed: rating's default late window is metering's acceptance window, so rating rates it
 * into its closed period and invoicing bills it as a late adjustment on the next invoice.
 * Nothing is left unrated and reconciliation finds every event billed once.
 */
describe("usage arriving days after its period", () => {
  let stack: InvoicingStack;
  const customerId = "cus_days_late";

  beforeAll(async () => {
    stack = await startInvoicingStack("2026-11-01T00:00:00Z");
    await createCallsPlan(stack, { case: "graduated", value: { tiers: [{ upTo: "1000", unitAmount: "0.003", flatAmount: "0" }, { upTo: "", unitAmount: "0.001", flatAmount: "0" }] } });
    await stack.invoicer.createCustomer({ customer: { customerId, legalName: "Days Late", email: "ap@late.test", currency: "USD", gracePeriod: { seconds: 600n }, taxExempt: true } });
    await stack.rater.createSubscription({ customerId, planKey: "basic", startTime: at("2026-11-01T00:00:00Z") });
  });
  afterAll(() => stack?.stop());

  const record = async (id: string, time: string, calls: string) => {
    const r = await stack.meter.record({ event: { id, customerId, eventType: "api", time: at(time), properties: { calls } } });
    expect(r.result?.status).toBe(metering.EventStatus.ACCEPTED);
  };
  const invoices = async () => (await stack.invoicer.listInvoices({ customerId })).invoices;

  it("bills usage recorded three days after November ended on December's invoice", async () => {
    stack.clock.set("2026-11-20T00:00:00Z");
    await record("on-time", "2026-11-19T00:00:00Z", "900");
    await eventually(async () => expect((await stack.rater.getCurrentUsage({ customerId })).components.map((c) => c.quantity)).toEqual(["900"]));
    stack.clock.set("2026-12-01T00:20:00Z");
    await eventually(async () => {
      await stack.invoicer.runBillingCycle({});
      expect((await invoices()).map((i) => i.number)).toEqual(["TLY-000001"]);
    });
    expect((await invoices())[0]!.total).toBe("12.70"); // 10 + 900 × 0.003

    stack.clock.set("2026-12-04T09:00:00Z");
    await record("days-late", "2026-11-30T23:59:59.999Z", "300"); // crosses the 1,000 tier: 100 × 0.003 + 200 × 0.001 = 0.5
    const [adjustment] = await eventually(async () => {
      await stack.invoicer.runBillingCycle({});
      const { adjustments } = await stack.invoicer.listLateAdjustments({ customerId });
      expect(adjustments).toHaveLength(1);
      return adjustments;
    });
    expect([adjustment!.line?.kind, adjustment!.line?.quantity, adjustment!.line?.amount]).toEqual([K.LATE_USAGE_ADJUSTMENT, "300", "0.5"]);
    expect((await stack.rater.listUnratedEvents({ customerId })).events).toEqual([]);

    stack.clock.set("2027-01-01T00:20:00Z");
    await eventually(async () => {
      await stack.invoicer.runBillingCycle({});
      expect((await invoices()).map((i) => i.number)).toEqual(["TLY-000002", "TLY-000001"]);
    });
    expect((await invoices())[0]!.total).toBe("10.50");
    const r = await stack.invoicer.reconcileInvoices({ periodStart: { start: at("2026-11-01T00:00:00Z"), end: at("2027-01-01T00:00:00Z") } });
    expect([r.invoicesChecked, r.findings]).toEqual([2, []]);
  });
});

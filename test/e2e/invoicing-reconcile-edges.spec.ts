import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { metering, rating } from "@tally/contracts";
import { eventually, untilMeterKnown } from "../support/platform-stack";
import { startInvoicingStack, type InvoicingStack } from "../support/invoicing-stack";

const at = (iso: string) => timestampFromDate(new Date(iso));

/**
 * A subscription created by an rpc starts at an arbitrary millisecond, so its periods cut
 * minutes. Reconciliation asks metering for exactly that period: the partial first and last
 * minutes are answered from raw events, and an event a few hundred milliseconds outside the
 * period is not counted. It matches to the minor unit, and a planted defect is still found.
 */
describe("reconciling a period that starts at an arbitrary millisecond", () => {
  let stack: InvoicingStack;
  const customerId = "cus_edges";
  const sql = (text: string) => stack.services.find((s) => s.name === "invoicing")!.deps.pool.query(text);
  const NOVEMBER = { start: at("2026-11-01T00:00:00Z"), end: at("2026-12-01T00:00:00Z") };

  beforeAll(async () => {
    stack = await startInvoicingStack("2026-11-01T20:00:00Z");
    await stack.meter.createMeter({ meter: { key: "calls", eventType: "api", aggregation: metering.Aggregation.SUM, valueProperty: "calls" } });
    await untilMeterKnown(() =>
      stack.rater.createPlan({
        plan: {
          key: "edges",
          name: "Edges",
          currency: "USD",
          billingInterval: rating.BillingInterval.MONTH,
          recurringFee: { amount: "10", timing: rating.FeeTiming.IN_ARREARS },
          components: [
            {
              key: "calls",
              meterKey: "calls",
              displayName: "Calls",
              pricing: {
                case: "price" as const,
                value: { model: { case: "graduated" as const, value: { tiers: [{ upTo: "100", unitAmount: "0.013", flatAmount: "0" }, { upTo: "", unitAmount: "0.007", flatAmount: "0" }] } } },
              },
            },
          ],
        },
      }),
    );
    await stack.invoicer.createCustomer({ customer: { customerId, legalName: "Edges", email: "e@x.test", currency: "USD", gracePeriod: { seconds: 0n }, taxRates: [{ name: "VAT", percent: "20" }] } });
    const sub = await stack.rater.createSubscription({ customerId, planKey: "edges", startTime: at("2026-11-01T19:59:01.413Z"), anchor: rating.BillingAnchor.ANNIVERSARY });
    expect(sub.subscription?.currentPeriod?.start).toEqual(at("2026-11-01T19:59:01.413Z"));
  });
  afterAll(() => stack?.stop());

  const record = async (id: string, time: string, calls: string) => {
    const r = await stack.meter.record({ event: { id, customerId, eventType: "api", time: at(time), properties: { calls } } });
    expect(r.result?.status).toBe(metering.EventStatus.ACCEPTED);
  };

  it("bills and re-derives the partial first and last minutes exactly", async () => {
    await record("before-start", "2026-11-01T19:59:00.500Z", "1000"); // same minute, before the period
    await record("first-minute", "2026-11-01T19:59:01.413Z", "7"); // the period's first millisecond
    await record("first-minute-2", "2026-11-01T19:59:59.999Z", "11");
    await record("middle", "2026-11-01T20:00:00Z", "50");
    stack.clock.set("2026-12-01T19:59:30Z");
    await record("last-minute", "2026-12-01T19:59:01.412Z", "40"); // the period's last millisecond
    await record("after-end", "2026-12-01T19:59:01.413Z", "2000"); // the next period's first
    await eventually(async () => {
      const u = await stack.rater.getCurrentUsage({ customerId });
      expect(u.components.map((c) => c.quantity)).toEqual(["2000"]); // rated into December's period
    });
    stack.clock.set("2026-12-01T20:00:00Z");
    const invoice = await eventually(async () => {
      await stack.invoicer.runBillingCycle({});
      const { invoices } = await stack.invoicer.listInvoices({ customerId });
      const finalized = invoices.filter((i) => i.number !== "");
      expect(finalized).toHaveLength(1);
      return finalized[0]!;
    });
    // 7 + 11 + 50 + 40 = 108 calls: 100 × 0.013 + 8 × 0.007 = 1.356; + fee 10 = 11.356 → 11.36; VAT 2.27.
    const usage = invoice.lines.find((l) => l.componentKey === "calls");
    expect([usage?.quantity, invoice.total, invoice.amountDue]).toEqual(["108", "11.36", "13.63"]);
    const r = await stack.invoicer.reconcileInvoices({ periodStart: NOVEMBER });
    expect([r.invoicesChecked, r.findings]).toEqual([1, []]);
  });

  it("still finds a planted defect in that invoice", async () => {
    await sql(`UPDATE invoicing.invoices SET lines = (SELECT jsonb_agg(CASE WHEN l->>'componentKey' = 'calls' THEN jsonb_set(l, '{quantity}', '"107"') ELSE l END) FROM jsonb_array_elements(lines) l) WHERE customer_id = '${customerId}'`);
    const r = await stack.invoicer.reconcileInvoices({ periodStart: NOVEMBER });
    expect(r.findings.map((f) => [f.check, f.expected, f.actual])).toContainEqual(["usage_billed", "108", "107"]);
  });
});

import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { invoicing, metering, rating } from "@tally/contracts";
import { eventually, untilMeterKnown } from "../support/platform-stack";
import { startInvoicingStack, type InvoicingStack } from "../support/invoicing-stack";

const at = (iso: string) => timestampFromDate(new Date(iso));
const NOVEMBER = { start: at("2026-11-01T00:00:00Z"), end: at("2026-12-01T00:00:00Z") };

/**
 * Partial periods are prorated against the NOMINAL period, in milliseconds, like an immediate
 * plan change (rounded once, on the invoice): the recurring fee and the minimum commitment of a
 * subscription canceled on day 10 of November (30 days) are 10/30 of theirs, and so are those of
 * a subscription starting on November 21 under a CALENDAR anchor (its first period runs to
 * December 1). Plan `committed`: $30 a month in arrears, seats at $1 each with a $30 minimum.
 * The old code took each clipped period as whole: $30 + a $30 minimum on both.
 */
describe("partial periods: fee and minimum prorated against the nominal period", () => {
  let stack: InvoicingStack;
  const sql = (text: string) => stack.services.find((s) => s.name === "invoicing")!.deps.pool.query(text);

  beforeAll(async () => {
    stack = await startInvoicingStack("2026-11-01T00:00:00Z");
    await stack.meter.createMeter({ meter: { key: "seats", eventType: "seat", aggregation: metering.Aggregation.SUM, valueProperty: "n" } });
    await untilMeterKnown(() =>
      stack.rater.createPlan({
        plan: {
          key: "committed",
          name: "Committed",
          currency: "USD",
          billingInterval: rating.BillingInterval.MONTH,
          recurringFee: { amount: "30", timing: rating.FeeTiming.IN_ARREARS },
          components: [
            { key: "seats", meterKey: "seats", displayName: "Seats", pricing: { case: "price" as const, value: { model: { case: "perUnit" as const, value: { unitAmount: "1" } }, minimum: "30" } } },
          ],
        },
      }),
    );
    for (const customerId of ["cus_leaves", "cus_joins"]) {
      await stack.invoicer.createCustomer({ customer: { customerId, legalName: customerId, email: `${customerId}@x.test`, currency: "USD", gracePeriod: { seconds: 0n }, taxExempt: true } });
    }
  });
  afterAll(() => stack?.stop());

  const seats = async (id: string, customerId: string, time: string, n: string) => {
    const r = await stack.meter.record({ event: { id, customerId, eventType: "seat", time: at(time), properties: { n } } });
    expect(r.result?.status).toBe(metering.EventStatus.ACCEPTED);
  };
  const novemberInvoice = (customerId: string) =>
    eventually(async () => {
      await stack.invoicer.runBillingCycle({});
      const { invoices } = await stack.invoicer.listInvoices({ customerId });
      const finalized = invoices.filter((i) => i.number !== "" && i.period!.start!.seconds < NOVEMBER.end.seconds);
      expect(finalized).toHaveLength(1);
      return finalized[0]!;
    });
  const lines = (i: invoicing.Invoice) => i.lines.map((l) => [invoicing.LineKind[l.kind], l.quantity.slice(0, 8), l.roundedAmount]);

  it("bills 10/30 of fee and minimum to a subscription canceled on day 10, and to one starting on the 21st", async () => {
    const leaves = (await stack.rater.createSubscription({ customerId: "cus_leaves", planKey: "committed", startTime: at("2026-11-01T00:00:00Z") })).subscription!;
    await stack.rater.createSubscription({ customerId: "cus_joins", planKey: "committed", startTime: at("2026-11-21T00:00:00Z") });
    stack.clock.set("2026-11-05T00:00:00Z");
    await seats("l1", "cus_leaves", "2026-11-05T00:00:00Z", "2");
    await eventually(async () => expect((await stack.rater.getCurrentUsage({ customerId: "cus_leaves" })).components.map((c) => c.quantity)).toEqual(["2"]));
    stack.clock.set("2026-11-11T00:00:00Z");
    await stack.rater.cancelSubscription({ subscriptionId: leaves.id, timing: rating.ChangeTiming.IMMEDIATELY });
    stack.clock.set("2026-11-25T00:00:00Z");
    await seats("j1", "cus_joins", "2026-11-22T00:00:00Z", "4");
    await eventually(async () => expect((await stack.rater.getCurrentUsage({ customerId: "cus_joins" })).components.map((c) => c.quantity)).toEqual(["4"]));
    stack.clock.set("2026-12-01T00:01:00Z");

    // Canceled on day 10 of 30: fee 30 × 10/30 = 10; 2 seats = 2; minimum 30 × 10/30 = 10, so a true-up of 8.
    const left = await novemberInvoice("cus_leaves");
    expect([left.period!.start, left.period!.end]).toEqual([at("2026-11-01T00:00:00Z"), at("2026-11-11T00:00:00Z")]);
    expect(lines(left)).toEqual([
      ["RECURRING_FEE", "0.333333", "10.00"],
      ["USAGE", "2", "2.00"],
      ["MINIMUM_TRUE_UP", "1", "8.00"],
    ]);
    expect(left.total).toBe("20.00");
    expect(left.segments.map((s) => [s.planKey, s.fraction.slice(0, 8)])).toEqual([["committed", "0.333333"]]);

    // Started on the 21st, first CALENDAR period to December 1: fee 10; 4 seats = 4; minimum 10, a true-up of 6.
    const joined = await novemberInvoice("cus_joins");
    expect([joined.period!.start, joined.period!.end]).toEqual([at("2026-11-21T00:00:00Z"), at("2026-12-01T00:00:00Z")]);
    expect(lines(joined)).toEqual([
      ["RECURRING_FEE", "0.333333", "10.00"],
      ["USAGE", "4", "4.00"],
      ["MINIMUM_TRUE_UP", "1", "6.00"],
    ]);
    expect(joined.total).toBe("20.00");

    const r = await stack.invoicer.reconcileInvoices({ periodStart: NOVEMBER });
    expect([r.invoicesChecked, r.findings]).toEqual([2, []]);
  });

  it("reconciliation finds a partial period billed a whole minimum", async () => {
    await sql(
      `UPDATE invoicing.invoices SET lines = (SELECT jsonb_agg(CASE WHEN l->>'kind' = 'minimum_true_up' THEN jsonb_set(l, '{amount}', '"28"') ELSE l END) FROM jsonb_array_elements(lines) l) WHERE customer_id = 'cus_leaves'`,
    );
    const r = await stack.invoicer.reconcileInvoices({ periodStart: NOVEMBER });
    expect(r.findings.filter((f) => f.check === "line_amount").map((f) => [f.ref.split("/").slice(-2).join("/"), f.expected, f.actual])).toEqual([["adjustments/seats", "8", "28"]]);
  });
});

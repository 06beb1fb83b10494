import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { invoicing, metering, rating } from "@tally/contracts";
import { Decimal, roundToMinorUnit } from "@tally/pricing";
import { eventually, untilMeterKnown } from "../support/platform-stack";
import { startInvoicingStack, type InvoicingStack } from "../support/invoicing-stack";

const at = (iso: string) => timestampFromDate(new Date(iso));
const sumOf = (xs: string[]) => xs.reduce((s, x) => s.plus(x), new Decimal(0));

/**
 * $50 → $100 immediately on day 10 of 30, fees in advance: the full $50 charged, a credit for the
 * unused 20 days of it (−33.333…) and a charge for the new fee over them (66.666…). Rounded once:
 * the change costs 33.33 (each line rounded first: −33.33 + 66.67 = 33.34), the invoice 83.33
 * (per line: 83.34), and the printed lines add up to the total.
 */
describe("an immediate upgrade with fees in advance", () => {
  let stack: InvoicingStack;
  const customerId = "cus_upgrade";

  beforeAll(async () => {
    stack = await startInvoicingStack("2026-11-01T00:00:00Z");
    await stack.meter.createMeter({ meter: { key: "seats", eventType: "seat", aggregation: metering.Aggregation.SUM, valueProperty: "n" } });
    const plan = (key: string, fee: string) => ({
      plan: {
        key,
        name: key,
        currency: "USD",
        billingInterval: rating.BillingInterval.MONTH,
        recurringFee: { amount: fee, timing: rating.FeeTiming.IN_ADVANCE },
        components: [
          { key: "seats", meterKey: "seats", displayName: "Seats", pricing: { case: "price" as const, value: { model: { case: "graduated" as const, value: { tiers: [{ upTo: "", unitAmount: "1", flatAmount: "0" }] } } } } },
        ],
      },
    });
    await untilMeterKnown(() => stack.rater.createPlan(plan("starter", "50")));
    await stack.rater.createPlan(plan("pro", "100"));
    await stack.invoicer.createCustomer({ customer: { customerId, legalName: "Upgrade Co", email: "ap@upgrade.test", currency: "USD", gracePeriod: { seconds: BigInt(600) }, netTermsDays: 30, taxExempt: true } });
    const subscriptionId = (await stack.rater.createSubscription({ customerId, planKey: "starter", startTime: at("2026-11-01T00:00:00Z") })).subscription!.id;
    stack.clock.set("2026-11-11T00:00:00Z");
    await stack.rater.changePlan({ subscriptionId, planKey: "pro", timing: rating.ChangeTiming.IMMEDIATELY, effectiveTime: at("2026-11-11T00:00:00Z") });
    // No waiting for invoicing to learn the change: the manual clock jumps 20 days at once, and the
    // invoice takes each segment's plan from rating's answer (invoicing-plan-change-race.spec.ts).
  });
  afterAll(() => stack?.stop());

  it("credits the unused old fee and charges the new one, rounding once", async () => {
    stack.clock.set("2026-12-01T00:05:00Z");
    const draft = await eventually(async () => {
      await stack.invoicer.runBillingCycle({});
      const { invoices } = await stack.invoicer.listInvoices({ customerId });
      expect(invoices).toHaveLength(1);
      return invoices[0]!;
    });
    const fees = draft.lines.filter((l) => l.kind === invoicing.LineKind.RECURRING_FEE);
    expect(fees.map((l) => [l.description, new Decimal(l.amount).toDecimalPlaces(9).toFixed()])).toEqual([
      ["starter (monthly fee)", "50"],
      ["starter (unused fee credited, 66.67% of the period)", "-33.333333333"],
      ["pro (fee, 66.67% of the period)", "66.666666667"],
    ]);
    const change = sumOf(fees.slice(1).map((l) => l.amount));
    expect(roundToMinorUnit(change, "USD").toFixed(2)).toBe("33.33");
    expect(sumOf(fees.slice(1).map((l) => roundToMinorUnit(new Decimal(l.amount), "USD").toFixed(2))).toFixed(2)).toBe("33.34");
    expect(draft.total).toBe("83.33");
    expect(sumOf(fees.map((l) => roundToMinorUnit(new Decimal(l.amount), "USD").toFixed(2))).toFixed(2)).toBe("83.34");
    expect(sumOf(draft.lines.map((l) => l.roundedAmount)).toFixed(2)).toBe("83.33");
  });

  it("finalizes and reconciles the credit and charge with no finding", async () => {
    stack.clock.set("2026-12-01T00:20:00Z");
    expect((await stack.invoicer.runBillingCycle({})).invoicesFinalized).toBe(1);
    const r = await stack.invoicer.reconcileInvoices({ periodStart: { start: at("2026-11-01T00:00:00Z"), end: at("2026-12-01T00:00:00Z") } });
    expect(r.invoicesChecked).toBe(1);
    expect(r.findings).toEqual([]);
  });
});

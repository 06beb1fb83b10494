import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { invoicing, metering, rating } from "@tally/contracts";
import { eventually, untilMeterKnown } from "../support/platform-stack";
import { startInvoicingStack, type InvoicingStack } from "../support/invoicing-stack";

const at = (iso: string) => timestampFromDate(new Date(iso));

/**
 * The race #12 left: a plan change moments before a period closes, and the period closes before
 * invoicing has consumed rating's subscription.changed for it. Rating's PreviewPeriods priced the
 * lines with the new plan; the invoice must name that plan for the segment (from the same answer),
 * and reconciliation must re-derive the same amounts (0 findings). The old code took the segment's
 * plan from invoicing's own copy of the subscription, named the old plan, and reconciliation
 * reported `line_amount`.
 *
 * Holding the event back: a trigger refuses any newer revision of the subscription in invoicing's
 * copy, so the feed's transaction fails and the message waits for redelivery, exactly as if it had
 * not arrived yet. Rating's advancer is slowed to an hour so that no other snapshot carries the
 * change either.
 */
describe("a period closing before invoicing learns of a plan change", () => {
  let stack: InvoicingStack;
  const customerId = "cus_race";
  let subscriptionId = "";
  const sql = <R>(text: string) => stack.services.find((s) => s.name === "invoicing")!.deps.pool.query(text) as unknown as Promise<{ rows: R[] }>;
  const knownSegments = async () => (await sql<{ n: number }>(`SELECT jsonb_array_length(segments) AS n FROM invoicing.subscriptions WHERE customer_id = '${customerId}'`)).rows[0]?.n;

  beforeAll(async () => {
    stack = await startInvoicingStack("2026-11-01T00:00:00Z", { rating: { advanceIntervalMs: 3_600_000 } });
    await stack.meter.createMeter({ meter: { key: "seats", eventType: "seat", aggregation: metering.Aggregation.SUM, valueProperty: "n" } });
    const plan = (key: string, fee: string) => ({
      plan: {
        key,
        name: key,
        currency: "USD",
        billingInterval: rating.BillingInterval.MONTH,
        recurringFee: { amount: fee, timing: rating.FeeTiming.IN_ARREARS },
        components: [
          { key: "seats", meterKey: "seats", displayName: "Seats", pricing: { case: "price" as const, value: { model: { case: "perUnit" as const, value: { unitAmount: "1" } }, minimum: "30" } } },
        ],
      },
    });
    await untilMeterKnown(() => stack.rater.createPlan(plan("starter", "30")));
    await stack.rater.createPlan(plan("pro", "90"));
    await stack.invoicer.createCustomer({ customer: { customerId, legalName: "Race Co", email: "ap@race.test", currency: "USD", gracePeriod: { seconds: BigInt(600) }, netTermsDays: 30, taxExempt: true } });
    subscriptionId = (await stack.rater.createSubscription({ customerId, planKey: "starter", startTime: at("2026-11-01T00:00:00Z") })).subscription!.id;
    // Invoicing knows the subscription (it must, to close its periods) ...
    await eventually(async () => expect(await knownSegments()).toBe(1));
    // ... and from now on learns nothing newer about it.
    await sql(`CREATE FUNCTION invoicing.hold_back_subscription_changed() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN RAISE EXCEPTION 'subscription.changed held back by the test'; END $$`);
    await sql(`CREATE TRIGGER hold_back BEFORE UPDATE ON invoicing.subscriptions FOR EACH ROW
                 WHEN (NEW.revision > OLD.revision) EXECUTE FUNCTION invoicing.hold_back_subscription_changed()`);
  });
  afterAll(() => stack?.stop());

  it("names the new plan for the segment after the change, and reconciles with 0 findings", async () => {
    // Upgrade on day 29 of 30, then the period ends: the close runs before the event is consumed.
    stack.clock.set("2026-11-30T00:00:00Z");
    await stack.rater.changePlan({ subscriptionId, planKey: "pro", timing: rating.ChangeTiming.IMMEDIATELY });
    stack.clock.set("2026-12-01T00:05:00Z");
    expect((await stack.invoicer.runBillingCycle({})).draftsCreated).toBe(1);
    expect(await knownSegments()).toBe(1); // invoicing's copy still has starter only

    const [draft] = (await stack.invoicer.listInvoices({ customerId })).invoices;
    expect(draft!.segments.map((s) => [s.planKey, s.planVersion, s.range!.start, s.range!.end])).toEqual([
      ["starter", 1, at("2026-11-01T00:00:00Z"), at("2026-11-30T00:00:00Z")],
      ["pro", 1, at("2026-11-30T00:00:00Z"), at("2026-12-01T00:00:00Z")],
    ]);
    // starter: fee 30 × 29/30 = 29, minimum 30 × 29/30 = 29; pro: fee 90 × 1/30 = 3, minimum 30 × 1/30 = 1.
    expect(draft!.lines.filter((l) => l.kind !== invoicing.LineKind.USAGE).map((l) => l.roundedAmount)).toEqual(["29.00", "29.00", "3.00", "1.00"]);
    expect(draft!.total).toBe("62.00");

    stack.clock.set("2026-12-01T00:20:00Z");
    expect((await stack.invoicer.runBillingCycle({})).invoicesFinalized).toBe(1);
    const r = await stack.invoicer.reconcileInvoices({ periodStart: { start: at("2026-11-01T00:00:00Z"), end: at("2026-12-01T00:00:00Z") } });
    expect(r.invoicesChecked).toBe(1);
    expect(r.findings).toEqual([]);
    expect(await knownSegments()).toBe(1); // still held back: everything above came from rating's answer
  });
});

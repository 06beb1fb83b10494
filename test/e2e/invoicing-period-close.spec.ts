import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { invoicing, metering, rating } from "@tally/contracts";
import { Decimal } from "@tally/pricing";
import { eventually, untilMeterKnown } from "../support/platform-stack";
import { startInvoicingStack, type InvoicingStack } from "../support/invoicing-stack";

const at = (iso: string) => timestampFromDate(new Date(iso));
const HOUR = 3600_000;
const sumOf = (xs: string[]) => xs.reduce((s, x) => s.plus(x), new Decimal(0));

/**
 * November 2026 for one USD customer, through every service with one clock: usage, an upgrade on
 * day 10 of 30, the period closing into exactly one draft, late usage inside the grace period,
 * automatic finalization with a number, and InvoiceFinalized on the bus.
 */
describe("a billing period becomes exactly one invoice", () => {
  let stack: InvoicingStack;
  const customerId = "cus_acme";
  let subscriptionId = "";

  beforeAll(async () => {
    stack = await startInvoicingStack("2026-11-01T00:00:00Z");
    await stack.meter.createMeter({ meter: { key: "tokens", eventType: "llm", aggregation: metering.Aggregation.SUM, valueProperty: "tokens" } });
    const plan = (key: string, fee: string) => ({
      plan: {
        key,
        name: key,
        currency: "USD",
        billingInterval: rating.BillingInterval.MONTH,
        recurringFee: { amount: fee, timing: rating.FeeTiming.IN_ARREARS },
        components: [
          {
            key: "tokens",
            meterKey: "tokens",
            displayName: "Tokens",
            pricing: {
              case: "price" as const,
              value: { model: { case: "graduated" as const, value: { tiers: [{ upTo: "1000", unitAmount: "0.01", flatAmount: "0" }, { upTo: "", unitAmount: "0.001", flatAmount: "0" }] } } },
            },
          },
        ],
      },
    });
    await untilMeterKnown(() => stack.rater.createPlan(plan("starter", "50")));
    await stack.rater.createPlan(plan("pro", "100"));
    await stack.invoicer.createCustomer({
      customer: {
        customerId,
        legalName: "Acme Inc.",
        email: "billing@acme.test",
        currency: "USD",
        gracePeriod: { seconds: BigInt(3600) },
        netTermsDays: 30,
        taxRates: [{ name: "VAT", percent: "20" }],
      },
    });
    subscriptionId = (await stack.rater.createSubscription({ customerId, planKey: "starter", startTime: at("2026-11-01T00:00:00Z") })).subscription!.id;
  });
  afterAll(() => stack?.stop());

  async function record(id: string, time: string, tokens: string) {
    const r = await stack.meter.record({ event: { id, customerId, eventType: "llm", time: at(time), properties: { tokens } } });
    expect(r.result?.status).toBe(metering.EventStatus.ACCEPTED);
  }

  async function ratedTokens(planKey: string): Promise<Decimal> {
    const u = await stack.rater.getCurrentUsage({ customerId });
    return sumOf(u.components.filter((c) => c.componentKey === "tokens" && c.planKey === planKey).map((c) => c.quantity));
  }

  it("closes November into one draft with prorated fees, tier breakdown and taxes", async () => {
    stack.clock.set("2026-11-05T00:00:00Z");
    await record("e1", "2026-11-04T10:00:00Z", "1500");
    await eventually(async () => expect((await ratedTokens("starter")).toFixed()).toBe("1500"));

    // Upgrade after 10 of 30 days.
    stack.clock.set("2026-11-11T00:00:00Z");
    await stack.rater.changePlan({ subscriptionId, planKey: "pro", timing: rating.ChangeTiming.IMMEDIATELY, effectiveTime: at("2026-11-11T00:00:00Z") });
    stack.clock.set("2026-11-21T00:00:00Z");
    await record("e2", "2026-11-20T10:00:00Z", "200");
    await eventually(async () => expect((await ratedTokens("pro")).toFixed()).toBe("200"));

    // Before the period ends nothing is invoiced.
    stack.clock.set("2026-11-30T23:00:00Z");
    expect((await stack.invoicer.runBillingCycle({})).draftsCreated).toBe(0);

    stack.clock.set("2026-12-01T00:10:00Z");
    const draft = await eventually(async () => {
      await stack.invoicer.runBillingCycle({});
      const { invoices } = await stack.invoicer.listInvoices({ customerId });
      expect(invoices).toHaveLength(1);
      return invoices[0]!;
    });
    expect(draft.status).toBe(invoicing.InvoiceStatus.DRAFT);
    expect(draft.number).toBe("");
    expect(draft.segments.map((s) => [s.planKey, s.fraction.slice(0, 8)])).toEqual([
      ["starter", "0.333333"],
      ["pro", "0.666666"],
    ]);
    const fees = draft.lines.filter((l) => l.kind === invoicing.LineKind.RECURRING_FEE).map((l) => l.amount.slice(0, 9));
    expect(fees).toEqual(["16.666666", "66.666666"]);
    // Starter segment: 1000 × 0.01 + 500 × 0.001 = 10.5; pro segment: 200 × 0.01 = 2.
    const usage = draft.lines.filter((l) => l.kind === invoicing.LineKind.USAGE);
    expect(usage.map((l) => l.amount)).toEqual(["10.5", "2"]);
    expect(usage[0]!.details.map((d) => [d.quantity, d.unitAmount, d.subtotal])).toEqual([
      ["1000", "0.01", "10"],
      ["500", "0.001", "0.5"],
    ]);
    // 16.666… + 66.666… + 10.5 + 2 = 95.8333… → 95.83; VAT 20% = 19.17 (19.166 half-even); due 115.00.
    expect(draft.total).toBe("95.83");
    expect(sumOf(draft.lines.map((l) => l.roundedAmount)).toFixed(2)).toBe("95.83");
    expect(draft.taxLines.map((t) => [t.name, t.amount])).toEqual([["VAT", "19.17"]]);
    expect(draft.amountDue).toBe("115.00");
  });

  it("updates the draft with usage that arrives late inside the grace period", async () => {
    await record("e3-late", "2026-11-29T12:00:00Z", "300");
    // 300 more in the pro segment: 500 × 0.01 = 5 instead of 2 → 98.83.
    await eventually(async () => {
      await stack.invoicer.runBillingCycle({});
      const { invoices } = await stack.invoicer.listInvoices({ customerId });
      expect(invoices[0]!.total).toBe("98.83");
    });
  });

  it("a second instance and a racing manual trigger create no second draft", async () => {
    const second = await stack.startInvoicing();
    const results = await Promise.all([stack.invoicer.runBillingCycle({}), second.client.runBillingCycle({}), stack.invoicer.runBillingCycle({})]);
    expect(results.reduce((n, r) => n + r.draftsCreated, 0)).toBe(0);
    expect((await stack.invoicer.listInvoices({ customerId })).invoices).toHaveLength(1);
  });

  it("finalizes automatically when the grace period ends, numbered, due on net terms, announced", async () => {
    const seen: invoicing.InvoiceFinalized[] = [];
    const sub = stack.env.bus.connection.subscribe(stack.env.bus.subject("tally.invoicing.v1.invoice.finalized"));
    void (async () => {
      const { fromBinary } = await import("@bufbuild/protobuf");
      for await (const m of sub) seen.push(fromBinary(invoicing.InvoiceFinalizedSchema, m.data));
    })();
    stack.clock.set(new Date(Date.parse("2026-12-01T00:00:00Z") + HOUR));
    const cycle = await stack.invoicer.runBillingCycle({});
    expect(cycle.invoicesFinalized).toBe(1);
    const { invoices } = await stack.invoicer.listInvoices({ customerId });
    const inv = invoices[0]!;
    expect(inv.status).toBe(invoicing.InvoiceStatus.FINALIZED);
    expect(inv.number).toBe("TLY-000001");
    expect(inv.dueTime!.seconds - inv.finalizeTime!.seconds).toBe(BigInt(30 * 24 * 3600));
    // Plain NATS shows every publication: after the previous test, two instances' outbox relays may
    // both publish the row (at least once). They carry one event id, which JetStream and every
    // consumer de-duplicate on, so the event is announced exactly once per id.
    await eventually(async () => expect(seen.map((e) => e.invoice!.id)).toContain(inv.id));
    expect(new Set(seen.map((e) => e.meta!.id)).size).toBe(1);
    expect(new Set(seen.map((e) => e.invoice!.id))).toEqual(new Set([inv.id]));
    sub.unsubscribe();
  });
});

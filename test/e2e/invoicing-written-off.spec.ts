import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { metering, rating } from "@tally/contracts";
import { reconcileCommand } from "@tally/invoicing";
import { TEST_KEYS } from "@tally/platform/testing";
import { eventually, untilMeterKnown } from "../support/platform-stack";
import { startInvoicingStack, type InvoicingStack } from "../support/invoicing-stack";

const at = (iso: string) => timestampFromDate(new Date(iso));
const NOVEMBER = { start: at("2026-11-01T00:00:00Z"), end: at("2026-12-01T00:00:00Z") };

/**
 * Rating configured with a late window (60 minutes) shorter than metering's acceptance window:
 * usage arriving after it is refused by rating (PERIOD_CLOSED) and never billed. Reconciliation
 * does not call that a mismatch: it reports it as written off, with rating's reason, the
 * quantity and the amount foregone — every cent explained. Usage missing for any other reason is
 * still a mismatch.
 */
describe("usage refused by a short rating late window is reported as written off", () => {
  let stack: InvoicingStack;
  const customerId = "cus_written_off";
  const sql = (text: string) => stack.services.find((s) => s.name === "invoicing")!.deps.pool.query(text);

  beforeAll(async () => {
    stack = await startInvoicingStack("2026-11-01T00:00:00Z", { rating: { lateGraceMinutes: 60 } });
    await stack.meter.createMeter({ meter: { key: "tokens", eventType: "llm", aggregation: metering.Aggregation.SUM, valueProperty: "tokens", groupBy: ["model"] } });
    const tiers = [
      { upTo: "100", unitAmount: "0.02", flatAmount: "0" },
      { upTo: "", unitAmount: "0.01", flatAmount: "0" },
    ];
    await untilMeterKnown(() =>
      stack.rater.createPlan({
        plan: {
          key: "llm",
          name: "LLM",
          currency: "USD",
          billingInterval: rating.BillingInterval.MONTH,
          components: [
            {
              key: "tokens",
              meterKey: "tokens",
              displayName: "Tokens",
              pricing: { case: "dimensionalPrice" as const, value: { dimension: "model", prices: {}, defaultPrice: { model: { case: "graduated" as const, value: { tiers } } } } },
            },
          ],
        },
      }),
    );
    await stack.invoicer.createCustomer({ customer: { customerId, legalName: "W", email: "w@x.test", currency: "USD", gracePeriod: { seconds: 0n }, taxExempt: true } });
    await stack.rater.createSubscription({ customerId, planKey: "llm", startTime: at("2026-11-01T00:00:00Z") });
    stack.clock.set("2026-11-20T00:00:00Z");
    await stack.meter.recordBatch({
      events: [
        { id: "a", customerId, eventType: "llm", time: at("2026-11-10T00:00:00Z"), properties: { model: "big", tokens: "90" } },
        { id: "b", customerId, eventType: "llm", time: at("2026-11-11T00:00:00Z"), properties: { model: "small", tokens: "10" } },
      ],
    });
    await eventually(async () => expect((await stack.rater.getCurrentUsage({ customerId })).components).toHaveLength(2));
    stack.clock.set("2026-12-01T00:00:01Z");
    await eventually(async () => {
      await stack.invoicer.runBillingCycle({});
      expect((await stack.invoicer.listInvoices({ customerId })).invoices.map((i) => i.number)).toEqual(["TLY-000001"]);
    });
    // Two days later, past rating's 60 minutes: refused as PERIOD_CLOSED.
    stack.clock.set("2026-12-03T00:00:00Z");
    await stack.meter.recordBatch({
      events: [
        { id: "late-1", customerId, eventType: "llm", time: at("2026-11-30T10:00:00Z"), properties: { model: "big", tokens: "15" } },
        { id: "late-2", customerId, eventType: "llm", time: at("2026-11-30T11:00:00Z"), properties: { model: "big", tokens: "5.5" } },
      ],
    });
    await eventually(async () => expect((await stack.rater.listUnratedEvents({ customerId })).events.map((e) => [e.eventId, e.reason, e.group])).toEqual([
      ["late-2", rating.UnratedReason.PERIOD_CLOSED, { model: "big" }],
      ["late-1", rating.UnratedReason.PERIOD_CLOSED, { model: "big" }],
    ]));
  });
  afterAll(() => stack?.stop());

  it("explains the unbilled usage as written off, with reason, quantity and amount; no mismatch", async () => {
    const r = await stack.invoicer.reconcileInvoices({ periodStart: NOVEMBER });
    expect(r.findings).toEqual([]);
    // big: 90 billed; 90 + 20.5 = 110.5 metered → 10 × 0.02 + 10.5 × 0.01 = 0.305 foregone.
    expect(r.writtenOff.map((w) => [w.ref, w.quantity, w.amount, [...w.eventIds].sort()])).toEqual([["2026-11-01T00:00:00.000Z/usage/tokens/big", "20.5", "0.305", ["late-1", "late-2"]]]);
    expect(r.writtenOff[0]!.reason).toMatch(/^period \[2026-11-01T00:00:00.000Z, 2026-12-01T00:00:00.000Z\) closed at 2026-12-01T01:00:00.000Z$/);
    const lines: string[] = [];
    const address = stack.services.find((s) => s.name === "invoicing")!.address;
    expect(await reconcileCommand(["--period", "2026-11"], { INVOICING_ADDRESS: address, TALLY_API_KEY: TEST_KEYS.read }, (l) => lines.push(l))).toBe(0);
    expect(lines.filter((l) => l.startsWith("WRITTEN OFF"))).toHaveLength(1);
  });

  it("still reports usage missing for another reason as a mismatch", async () => {
    await sql(`UPDATE invoicing.invoices SET lines = (SELECT jsonb_agg(CASE WHEN l->>'dimensionValue' = 'small' THEN jsonb_set(l, '{quantity}', '"9"') ELSE l END) FROM jsonb_array_elements(lines) l)`);
    const r = await stack.invoicer.reconcileInvoices({ periodStart: NOVEMBER });
    expect(r.findings.map((f) => [f.check, f.ref, f.expected, f.actual])).toContainEqual(["usage_billed", "2026-11-01T00:00:00.000Z/usage/tokens/small", "10", "9"]);
    expect(r.writtenOff).toHaveLength(1);
  });
});

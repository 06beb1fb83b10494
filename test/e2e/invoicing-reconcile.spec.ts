import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { metering, rating } from "@tally/contracts";
import { reconcileCommand } from "@tally/invoicing";
import { TEST_KEYS } from "@tally/platform/testing";
import { eventually, untilMeterKnown } from "../support/platform-stack";
import { startInvoicingStack, type InvoicingStack } from "../support/invoicing-stack";

const at = (iso: string) => timestampFromDate(new Date(iso));
const NOVEMBER = { start: at("2026-11-01T00:00:00Z"), end: at("2026-12-01T00:00:00Z") };

/**
 * Reconciliation re-derives finalized invoices from metering's raw events, rating's plans and the
 * pricing library, and limits' ledger: zero findings on correct data, and each planted defect found.
 */
describe("reconciliation re-derives every invoice and finds each planted defect", () => {
  let stack: InvoicingStack;
  let sql: (text: string) => Promise<unknown>;

  beforeAll(async () => {
    stack = await startInvoicingStack("2026-11-01T00:00:00Z");
    sql = (text) => stack.services.find((s) => s.name === "invoicing")!.deps.pool.query(text);
    await stack.meter.createMeter({
      meter: { key: "tokens", eventType: "llm", aggregation: metering.Aggregation.SUM, valueProperty: "tokens", groupBy: ["model"] },
    });
    const tiers = [
      { upTo: "100", unitAmount: "0.03", flatAmount: "1" },
      { upTo: "", unitAmount: "0.007", flatAmount: "0" },
    ];
    await untilMeterKnown(() =>
      stack.rater.createPlan({
        plan: {
          key: "metered",
          name: "Metered",
          currency: "USD",
          billingInterval: rating.BillingInterval.MONTH,
          recurringFee: { amount: "9.99", timing: rating.FeeTiming.IN_ARREARS },
          components: [
            {
              key: "tokens",
              meterKey: "tokens",
              displayName: "Tokens",
              pricing: {
                case: "dimensionalPrice",
                value: {
                  dimension: "model",
                  prices: { big: { model: { case: "graduated", value: { tiers } } } },
                  defaultPrice: { model: { case: "volume", value: { tiers } }, includedUnits: "10" },
                },
              },
            },
          ],
        },
      }),
    );
    for (const n of [1, 2, 3]) {
      const customerId = `cus_r${n}`;
      await stack.invoicer.createCustomer({ customer: { customerId, legalName: `R${n}`, email: `r${n}@x.test`, currency: "USD", gracePeriod: { seconds: 0n }, taxRates: [{ name: "Tax", percent: "7.25" }] } });
      await stack.rater.createSubscription({ customerId, planKey: "metered", startTime: at("2026-11-01T00:00:00Z") });
    }
    stack.clock.set("2026-11-20T00:00:00Z");
    const events = [1, 2, 3].flatMap((n) =>
      Array.from({ length: 20 }, (_, k) => ({
        id: `r${n}-${k}`,
        customerId: `cus_r${n}`,
        eventType: "llm",
        time: at(`2026-11-${String(1 + (k % 18)).padStart(2, "0")}T12:00:00Z`),
        properties: { model: k % 3 === 0 ? "big" : "small", tokens: `${n * 7 + k}.125` },
      })),
    );
    expect((await stack.meter.recordBatch({ events })).acceptedCount).toBe(events.length);
    await eventually(async () => {
      for (const n of [1, 2, 3]) {
        const u = await stack.rater.getCurrentUsage({ customerId: `cus_r${n}` });
        expect(u.components.filter((c) => c.componentKey === "tokens").length).toBe(2);
      }
    });
    stack.clock.set("2026-12-01T00:00:01Z");
    await eventually(async () => {
      const r = await stack.invoicer.runBillingCycle({});
      const { invoices } = await stack.invoicer.listInvoices({});
      expect(invoices.filter((i) => i.number !== "")).toHaveLength(3);
      return r;
    });
    await sql("CREATE TABLE invoicing.snapshot AS SELECT * FROM invoicing.invoices");
  });
  afterAll(() => stack?.stop());
  afterEach(async () => {
    await sql("DELETE FROM invoicing.invoices; INSERT INTO invoicing.invoices SELECT * FROM invoicing.snapshot");
  });

  const reconcile = () => stack.invoicer.reconcileInvoices({ periodStart: NOVEMBER });

  it("finds nothing wrong with correct invoices, through the command too", async () => {
    const r = await reconcile();
    expect(r.invoicesChecked).toBe(3);
    expect(r.findings).toEqual([]);
    const lines: string[] = [];
    const address = stack.services.find((s) => s.name === "invoicing")!.address;
    expect(await reconcileCommand(["--period", "2026-11"], { INVOICING_ADDRESS: address, TALLY_API_KEY: TEST_KEYS.read }, (l) => lines.push(l))).toBe(0);
    expect(lines[lines.length - 1]).toBe("0 mismatches");
  });

  const first = "(SELECT id FROM invoicing.invoices WHERE customer_id = 'cus_r1')";
  it.each([
    ["a line amount", `UPDATE invoicing.invoices SET lines = jsonb_set(lines, '{1,amount}', to_jsonb(((lines->1->>'amount')::numeric + 0.01)::text)) WHERE id = ${first}`, ["line_amount", "lines_sum_to_subtotal"]],
    ["a usage quantity (usage billed twice)", `UPDATE invoicing.invoices SET lines = jsonb_set(lines, '{1,quantity}', to_jsonb(((lines->1->>'quantity')::numeric * 2)::text)) WHERE id = ${first}`, ["usage_billed"]],
    ["the total", `UPDATE invoicing.invoices SET total = total + 0.01 WHERE id = ${first}`, ["total_rounding"]],
    ["the credits applied", `UPDATE invoicing.invoices SET credits_applied = 1 WHERE id = ${first}`, ["credits_match_ledger"]],
    ["the amount due", `UPDATE invoicing.invoices SET amount_due = amount_due + 1 WHERE id = ${first}`, ["amount_due"]],
    ["a tax line", `UPDATE invoicing.invoices SET tax_lines = jsonb_set(tax_lines, '{0,amount}', '"0.01"') WHERE id = ${first}`, ["tax_line"]],
    ["a gap in the numbers", `UPDATE invoicing.invoices SET sequence_number = 7, number = 'TLY-000007' WHERE id = ${first}`, ["gapless_numbers"]],
  ])("finds %s", async (_what, plant, checks) => {
    await sql(plant);
    const r = await reconcile();
    // The planted check fires (and the figures derived from the planted one may too), on the
    // planted invoice only (a gap belongs to the sequence, not to an invoice).
    const found = new Set(r.findings.map((f) => f.check));
    for (const check of checks) expect(found).toContain(check);
    const planted = ((await sql(first.slice(1, -1))) as { rows: { id: string }[] }).rows[0]!.id;
    expect(new Set(r.findings.filter((f) => f.invoiceId !== "").map((f) => f.invoiceId))).toEqual(new Set(checks[0] === "gapless_numbers" ? [] : [planted]));
  });

  it("finds a second invoice for one period and more paid than due (constraints dropped to plant them)", async () => {
    await sql(`ALTER TABLE invoicing.invoices DROP CONSTRAINT invoices_subscription_id_period_start_key, DROP CONSTRAINT invoices_check`);
    await sql(`INSERT INTO invoicing.invoices SELECT 'inv_copy', subscription_id, customer_id, period_start, period_end, 'draft', currency, customer_name, sequence_prefix, NULL, NULL,
      segments, lines, tax_lines, tax_exempt, subtotal, total, credits_applied, balance_applied, taxable_amount, tax_total, amount_due, amount_paid, amount_credited, amount_refunded,
      create_time, finalize_after, finalize_time, due_time, paid_time, void_time, void_reason, stale FROM invoicing.invoices WHERE id = ${first}`);
    await sql(`UPDATE invoicing.invoices SET amount_paid = amount_due + 1 WHERE id = (SELECT id FROM invoicing.invoices WHERE customer_id = 'cus_r2')`);
    const r = await reconcile();
    expect([...new Set(r.findings.map((f) => f.check))].sort()).toEqual(["one_invoice_per_period", "paid_plus_credited"]);
  });
});

import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { invoicing } from "@tally/contracts";
import { formatMoney, formatPreciseMoney, formatQuantity } from "./format";
import { invoiceDocumentFromProto } from "./from-invoice-proto";
import { renderInvoiceHtml } from "./render-html";
import { renderInvoicePdf } from "./render-pdf";
import { pdfText } from "./testing/pdf-text";

const ts = (iso: string) => timestampFromDate(new Date(iso));
const range = (start: string, end: string) => ({ start: ts(start), end: ts(end) });
const november = range("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z");
const october = range("2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z");
const rows = (text: string) => text.split("\n").map((l) => l.trim().replace(/\s{2,}/g, " | "));

/**
 * An invoice as invoicing returns it, with every kind of figure it carries. The arithmetic, as
 * invoicing does it:
 *   lines 50.00 + 6.00 + 0.99 = 56.99 (total); credits 10.00 → taxable 46.99;
 *   VAT 20% × 46.99 = 9.398 → 9.40; city tax 1.5% × 46.99 = 0.70485 → 0.70; tax 10.10;
 *   balance from an earlier credit note 5.00 → due 46.99 + 10.10 − 5.00 = 52.09;
 *   a credit note of 2.09 and 30.00 paid leave 20.00 outstanding.
 */
function invoiceWithEverything(): invoicing.Invoice {
  return create(invoicing.InvoiceSchema, {
    id: "inv_9",
    number: "TLY-000042",
    customerId: "cus_42",
    customerName: "Acme AI Inc.",
    status: invoicing.InvoiceStatus.FINALIZED,
    currency: "USD",
    period: november,
    segments: [{ planKey: "pro", planVersion: 2, range: november, fraction: "1" }],
    lines: [
      { ref: "fee", kind: invoicing.LineKind.RECURRING_FEE, description: "Pro plan fee", quantity: "1", amount: "50", roundedAmount: "50.00", period: november },
      {
        ref: "tokens",
        kind: invoicing.LineKind.USAGE,
        componentKey: "tokens",
        description: "Tokens",
        quantity: "5000",
        amount: "6",
        roundedAmount: "6.00",
        period: november,
        details: [
          { ref: "tokens/tier/0", tierIndex: 0, lowerBound: "0", upperBound: "1000", quantity: "1000", unitAmount: "0.002", flatAmount: "0", subtotal: "2" },
          { ref: "tokens/tier/1", tierIndex: 1, lowerBound: "1000", upperBound: "", quantity: "4000", unitAmount: "0.001", flatAmount: "0", subtotal: "4" },
        ],
      },
      {
        ref: "late/tokens",
        kind: invoicing.LineKind.LATE_USAGE_ADJUSTMENT,
        componentKey: "tokens",
        description: "Tokens: usage from 2026-10-01 to 2026-11-01 received after invoicing",
        quantity: "990",
        amount: "0.99",
        roundedAmount: "0.99",
        period: october,
      },
    ],
    subtotal: "56.99",
    total: "56.99",
    creditsApplied: "10.00",
    taxableAmount: "46.99",
    taxLines: [
      { name: "VAT", percent: "20", taxableAmount: "46.99", amount: "9.40" },
      { name: "City tax", percent: "1.5", taxableAmount: "46.99", amount: "0.70" },
    ],
    taxTotal: "10.10",
    balanceApplied: "5.00",
    amountDue: "52.09",
    amountCredited: "2.09",
    amountPaid: "30.00",
    createTime: ts("2026-12-01T00:05:00Z"),
    finalizeTime: ts("2026-12-01T01:05:00Z"),
    dueTime: ts("2026-12-31T01:05:00Z"),
  });
}

const parties = {
  issuer: { name: "Tally Billing Ltd", address: ["1 Ledger Lane"] },
  customer: { name: "Acme AI Inc.", address: ["500 Market St"], reference: "Customer cus_42" },
};

describe("invoicing's invoice, printed", () => {
  const invoice = invoiceWithEverything();
  const usd = (amount: string) => formatMoney(amount, "USD");
  let text: string;
  beforeAll(async () => {
    text = await pdfText(await renderInvoicePdf(invoiceDocumentFromProto(invoice, parties)));
  });

  test("tax per named rate, after credits, then balance, credit notes and payments", () => {
    const lines = rows(text);
    const expected = [
      `Subtotal | ${usd(invoice.total)}`,
      `Credits applied | -${usd(invoice.creditsApplied)}`,
      `Taxable amount | ${usd(invoice.taxableAmount)}`,
      ...invoice.taxLines.map((t) => `${t.name} (${t.percent}%) | ${usd(t.amount)}`),
      `Balance applied | -${usd(invoice.balanceApplied)}`,
      `Amount due | ${usd(invoice.amountDue)}`,
      `Credit notes | -${usd(invoice.amountCredited)}`,
      `Paid | -${usd(invoice.amountPaid)}`,
      `Outstanding | ${usd("20.00")}`, // 52.09 − 2.09 − 30.00
    ];
    for (const row of expected) expect(lines).toContain(row);
    const positions = expected.map((row) => lines.indexOf(row));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });

  test("each line with its rounded amount, usage lines with their tier breakdown", () => {
    const lines = rows(text);
    for (const line of invoice.lines) expect(text).toContain(usd(line.roundedAmount));
    expect(lines).toContain("Pro plan fee | 100% of period | $50.00");
    expect(lines).toContain("Tokens | 5,000 | $6.00");
    expect(lines).toContain("Tier 1 (0 – 1,000) | 1,000 | $0.002 | $2.00"); // 1,000 × 0.002
    expect(lines).toContain("Tier 2 (above 1,000) | 4,000 | $0.001 | $4.00"); // 4,000 × 0.001
  });

  test("a late-usage adjustment names the earlier period it bills", () => {
    const lines = rows(text);
    // The description wraps in its column; quantity and amount stay on its first row.
    expect(lines).toContain(`Tokens: usage from 2026-10-01 to 2026-11-01 | ${formatQuantity("990")} | $0.99`);
    expect(lines).toContain("received after invoicing");
    expect(lines).toContain("Usage period Oct 1, 2026 – Oct 31, 2026");
  });

  test("every amount on the PDF is one of the invoice's figures", () => {
    const figures = new Set<string>([
      ...[invoice.total, invoice.creditsApplied, invoice.taxableAmount, invoice.balanceApplied, invoice.amountDue, invoice.amountCredited, invoice.amountPaid, "20.00"].map(usd),
      ...invoice.lines.map((l) => usd(l.roundedAmount)),
      ...invoice.taxLines.map((t) => usd(t.amount)),
      ...invoice.lines.flatMap((l) => l.details.flatMap((d) => [formatPreciseMoney(d.unitAmount, "USD"), formatPreciseMoney(d.subtotal, "USD")])),
    ]);
    const printed = text.match(/\$[\d,]+(\.\d+)?/g) ?? [];
    expect(printed.length).toBeGreaterThan(15);
    for (const amount of printed) expect(figures).toContain(amount);
  });

  test("a tax-exempt customer's invoice says so", async () => {
    const exempt = create(invoicing.InvoiceSchema, { ...invoiceWithEverything(), taxLines: [], taxTotal: "0", taxExempt: true, amountDue: "41.99", amountCredited: "", amountPaid: "" });
    const html = renderInvoiceHtml(invoiceDocumentFromProto(exempt, parties)).replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");
    expect(html).toContain("Tax (customer exempt) $0.00");
    expect(html).toContain("Amount due $41.99");
    expect(html).not.toContain("Outstanding");
  });
});

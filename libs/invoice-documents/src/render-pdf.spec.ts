import { renderInvoicePdf } from "./render-pdf";
import { presentInvoice } from "./present-invoice";
import { pdfText } from "./testing/pdf-text";
import { sampleInvoice } from "./testing/sample-invoice";

const plain = (s: string) => s.replace(/\u00a0/g, " ");
const rows = (text: string) => text.split("\n").map((l) => l.trim().replace(/\s{2,}/g, " | "));

describe("invoice PDF, read back with pdftotext", () => {
  let text: string;
  beforeAll(async () => {
    const pdf = await renderInvoicePdf(sampleInvoice());
    expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
    text = await pdfText(pdf);
  });

  test("header: number, dates, period, currency, status", () => {
    for (const figure of ["TLY-2025-000123", "Jun 1, 2025", "Jun 15, 2025", "May 1, 2025 – May 31, 2025", "USD", "Status: Open"]) {
      expect(text).toContain(figure);
    }
  });

  test("issuer and customer details", () => {
    for (const detail of ["Tally Billing Ltd", "1 Ledger Lane", "VAT GB123456789", "billing@tally.example", "Acme AI Inc.", "500 Market St", "Customer cus_42"]) {
      expect(text).toContain(detail);
    }
  });

  test("each line with its quantity and amount on one row", () => {
    const lines = rows(text);
    expect(lines).toContain("Starter plan fee | 48.39% of period | $12.50");
    expect(lines).toContain("Growth plan fee | 51.61% of period | $12.50");
    expect(lines).toContain("Input tokens (gpt-4o) | 7,250,000 | $2,346.25");
    expect(lines).toContain("Embeddings minimum commitment | 1 | $150.00");
    expect(lines).toContain("Image generations | 12 | $30.00");
  });

  test("tier breakdown: quantity × unit price + flat fee = subtotal per tier", () => {
    const lines = rows(text);
    expect(lines).toContain("Included units | 250,000 | $0.00 | $0.00");
    expect(lines).toContain("Tier 1 (0 – 1,000,000) | 1,000,000 | $0.0005 | $500.00"); // 1,000,000 × 0.0005
    expect(lines).toContain("Tier 2 (1,000,000 – 5,000,000) | 4,000,000 | $0.0004 + $25.00 | $1,625.00"); // 4,000,000 × 0.0004 + 25
    expect(lines).toContain("Tier 3 (above 5,000,000) | 2,000,000 | $0.000110625 | $221.25"); // 2,000,000 × 0.000110625
  });

  test("prorations between the two plans", () => {
    const lines = rows(text);
    expect(lines).toContain("starter v1 | May 1, 2025 – May 15, 2025 | 48.39% of period");
    expect(lines).toContain("growth v2 | May 16, 2025 – May 31, 2025 | 51.61% of period");
    expect(text).toContain("May 16, 2025 – May 31, 2025"); // segment note under the lines
  });

  test("totals in invoicing's order: subtotal, credits, taxable amount, tax, amount due", () => {
    const lines = rows(text);
    const order = ["Subtotal | $2,551.25", "Credits applied | -$61.50", "Taxable amount | $2,489.75", "VAT (20%) | $497.95", "Amount due | $2,987.70"];
    for (const row of order) expect(lines).toContain(row);
    expect(order.map((row) => lines.indexOf(row))).toEqual([...order.map((row) => lines.indexOf(row))].sort((a, b) => a - b));
    // Nothing paid or credited yet: no settlement rows.
    expect(text).not.toContain("Outstanding");
  });

  test("every string the presenter formats is in the PDF", () => {
    const p = presentInvoice(sampleInvoice());
    const figures = [
      ...p.facts.map((f) => f.value),
      ...p.lines.flatMap((l) => [l.description, l.quantity, l.amount, ...l.steps.flatMap((s) => [s.label, s.quantity, s.unitAmount, s.flatAmount, s.subtotal])]),
      ...p.totals.flatMap((t) => [t.label, t.value]),
    ].filter(Boolean);
    for (const figure of figures) expect(text).toContain(plain(figure));
  });
});

describe("currencies with 0 and 3 decimals", () => {
  test("JPY prints no decimals", async () => {
    const text = await pdfText(
      await renderInvoicePdf(
        sampleInvoice({ currency: "JPY", taxes: [], lines: [], subtotal: "123457", creditsApplied: "457", taxableAmount: "123000", amountDue: "123000" }),
      ),
    );
    expect(rows(text)).toContain("Subtotal | ¥123,457");
    expect(rows(text)).toContain("Credits applied | -¥457");
    expect(rows(text)).toContain("Amount due | ¥123,000");
  });

  test("KWD prints three decimals", async () => {
    const text = await pdfText(
      await renderInvoicePdf(
        sampleInvoice({ currency: "KWD", taxes: [], lines: [], subtotal: "10.125", creditsApplied: "0", taxableAmount: "10.125", amountDue: "10.125" }),
      ),
    );
    expect(rows(text)).toContain("Subtotal | KWD 10.125");
    expect(rows(text)).toContain("Credits applied | KWD 0.000");
  });
});

test("a long invoice flows onto further pages", async () => {
  const base = sampleInvoice();
  const line = base.lines[2]!;
  const lines = Array.from({ length: 40 }, (_, i) => ({ ...line, description: `Model ${i + 1} tokens` }));
  const text = await pdfText(await renderInvoicePdf(sampleInvoice({ lines })));
  expect(text.split("\f").filter((page) => page.trim()).length).toBeGreaterThan(1);
  for (let i = 1; i <= 40; i++) expect(text).toContain(`Model ${i} tokens`);
  expect(rows(text)).toContain("Amount due | $2,987.70");
});

test("the same invoice renders to the same bytes", async () => {
  // A render takes milliseconds, so the clock has moved by the second one: it must not change a byte.
  const first = await renderInvoicePdf(sampleInvoice());
  expect((await renderInvoicePdf(sampleInvoice())).equals(first)).toBe(true);
  expect((await renderInvoicePdf(sampleInvoice({ amountDue: "2987.71" }))).equals(first)).toBe(false);
});

import type { InvoiceDocument } from "../invoice-document";

const d = (iso: string) => new Date(iso);

/**
 * An invoice with everything a document must print: a plan change mid-period (two segments,
 * prorated fees), graduated tiers with included units and a flat fee, a minimum true-up, a tax,
 * credits. The figures add up as invoicing computes them: lines 12.50 + 12.50 + 2,346.25 +
 * 150.00 + 30.00 = 2,551.25; credits 61.50 leave 2,489.75 taxable; VAT 20% = 497.95; due 2,987.70.
 */
export function sampleInvoice(overrides: Partial<InvoiceDocument> = {}): InvoiceDocument {
  const first = { start: d("2025-05-01T00:00:00Z"), end: d("2025-05-16T00:00:00Z") };
  const second = { start: d("2025-05-16T00:00:00Z"), end: d("2025-06-01T00:00:00Z") };
  return {
    number: "TLY-2025-000123",
    status: "finalized",
    currency: "USD",
    issueDate: d("2025-06-01T01:00:00Z"),
    dueDate: d("2025-06-15T01:00:00Z"),
    period: { start: first.start, end: second.end },
    issuer: { name: "Tally Billing Ltd", address: ["1 Ledger Lane", "London EC1A 1BB"], reference: "VAT GB123456789", email: "billing@tally.example" },
    customer: { name: "Acme AI Inc.", address: ["500 Market St", "San Francisco, CA 94105"], reference: "Customer cus_42" },
    segments: [
      { planKey: "starter", planVersion: 1, range: first, fraction: "0.4838709677" },
      { planKey: "growth", planVersion: 2, range: second, fraction: "0.5161290323" },
    ],
    lines: [
      { kind: "recurring_fee", description: "Starter plan fee", quantity: "0.4838709677", amount: "12.50", period: first, tiers: [] },
      { kind: "recurring_fee", description: "Growth plan fee", quantity: "0.5161290323", amount: "12.50", period: second, tiers: [] },
      {
        kind: "usage",
        description: "Input tokens (gpt-4o)",
        quantity: "7250000",
        amount: "2346.25",
        period: second,
        tiers: [
          { tierIndex: 0, lowerBound: "", upperBound: "", quantity: "250000", unitAmount: "0", flatAmount: "0", subtotal: "0", included: true },
          { tierIndex: 0, lowerBound: "0", upperBound: "1000000", quantity: "1000000", unitAmount: "0.0005", flatAmount: "0", subtotal: "500", included: false },
          { tierIndex: 1, lowerBound: "1000000", upperBound: "5000000", quantity: "4000000", unitAmount: "0.0004", flatAmount: "25", subtotal: "1625", included: false },
          { tierIndex: 2, lowerBound: "5000000", upperBound: "", quantity: "2000000", unitAmount: "0.000110625", flatAmount: "0", subtotal: "221.25", included: false },
        ],
      },
      { kind: "minimum_true_up", description: "Embeddings minimum commitment", quantity: "1", amount: "150.00", period: second, tiers: [] },
      { kind: "usage", description: "Image generations", quantity: "12", amount: "30.00", period: second, tiers: [] },
    ],
    subtotal: "2551.25",
    creditsApplied: "61.50",
    taxableAmount: "2489.75",
    taxes: [{ name: "VAT", ratePercent: "20", taxableAmount: "2489.75", amount: "497.95" }],
    taxExempt: false,
    balanceApplied: "0",
    amountDue: "2987.70",
    amountCredited: "0",
    amountPaid: "0",
    outstanding: "2987.70",
    ...overrides,
  };
}

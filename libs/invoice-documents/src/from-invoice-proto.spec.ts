import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { invoicing } from "@tally/contracts";
import { invoiceDocumentFromProto } from "./from-invoice-proto";

const ts = (iso: string) => timestampFromDate(new Date(iso));
const range = (start: string, end: string) => ({ start: ts(start), end: ts(end) });
const parties = { issuer: { name: "Tally", address: [] }, customer: { name: "Acme", address: [] } };

test("maps an invoice message to the document, keeping the service's rounded figures", () => {
  const invoice = create(invoicing.InvoiceSchema, {
    id: "inv_1",
    number: "TLY-2025-000001",
    customerId: "cus_42",
    status: invoicing.InvoiceStatus.FINALIZED,
    currency: "EUR",
    period: range("2025-05-01T00:00:00Z", "2025-06-01T00:00:00Z"),
    segments: [{ planKey: "pro", planVersion: 3, range: range("2025-05-01T00:00:00Z", "2025-06-01T00:00:00Z"), fraction: "1" }],
    lines: [
      { ref: "r1", kind: invoicing.LineKind.RECURRING_FEE, description: "Pro plan", quantity: "1", amount: "20", roundedAmount: "20.00" },
      { ref: "r2", kind: invoicing.LineKind.USAGE, description: "Tokens", quantity: "1234", amount: "3.0855", roundedAmount: "3.09", period: range("2025-05-01T00:00:00Z", "2025-06-01T00:00:00Z") },
    ],
    subtotal: "23.0855",
    total: "23.09",
    creditsApplied: "5.00",
    amountDue: "18.09",
    createTime: ts("2025-06-01T00:30:00Z"),
    finalizeTime: ts("2025-06-01T01:00:00Z"),
    dueTime: ts("2025-06-15T01:00:00Z"),
  });
  const doc = invoiceDocumentFromProto(invoice, parties);
  expect(doc).toMatchObject({
    number: "TLY-2025-000001",
    status: "finalized",
    currency: "EUR",
    issueDate: new Date("2025-06-01T01:00:00Z"),
    dueDate: new Date("2025-06-15T01:00:00Z"),
    subtotal: "23.09",
    creditsApplied: "5.00",
    // No taxable amount on the message (an invoice from before taxes): total - credits.
    taxableAmount: "18.09",
    amountDue: "18.09",
    taxes: [],
    balanceApplied: "0",
    outstanding: "18.09",
  });
  expect(doc.lines.map((l) => [l.kind, l.amount])).toEqual([
    ["recurring_fee", "20.00"],
    ["usage", "3.09"],
  ]);
  // A line without its own period belongs to the whole period.
  expect(doc.lines[0]!.period).toEqual(doc.period);
  expect(doc.segments[0]).toMatchObject({ planKey: "pro", planVersion: 3, fraction: "1" });
});

test("refuses an invoice it cannot print truthfully", () => {
  const noPeriod = create(invoicing.InvoiceSchema, { status: invoicing.InvoiceStatus.DRAFT, currency: "USD" });
  expect(() => invoiceDocumentFromProto(noPeriod, parties)).toThrow("invoice.period");
  const unspecified = create(invoicing.InvoiceSchema, { currency: "USD", period: range("2025-05-01T00:00:00Z", "2025-06-01T00:00:00Z") });
  expect(() => invoiceDocumentFromProto(unspecified, parties)).toThrow("invoice.status");
});

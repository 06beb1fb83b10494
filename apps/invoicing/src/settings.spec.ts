import { loadInvoicingSettings } from "./settings";

test("the issuer printed on documents: Tally by default, address lines separated by |", () => {
  expect(loadInvoicingSettings({}).issuer).toEqual({ name: "Tally", address: [], reference: "", email: "" });
  const issuer = loadInvoicingSettings({
    INVOICING_ISSUER_NAME: "Tally Billing Ltd",
    INVOICING_ISSUER_ADDRESS: "1 Ledger Lane | London EC1A 1BB |",
    INVOICING_ISSUER_REFERENCE: "VAT GB123456789",
  }).issuer;
  expect(issuer).toEqual({ name: "Tally Billing Ltd", address: ["1 Ledger Lane", "London EC1A 1BB"], reference: "VAT GB123456789", email: "" });
});

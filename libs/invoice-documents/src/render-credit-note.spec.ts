import type { CreditNoteDocument } from "./credit-note-document";
import { renderCreditNoteHtml, renderCreditNotePdf } from "./render-credit-note";
import { pdfText } from "./testing/pdf-text";

const rows = (text: string) => text.split("\n").map((l) => l.trim().replace(/\s{2,}/g, " | "));

/** ¥3,000 back on a paid JPY invoice: net 2,727 + consumption tax 10% 273 = 3,000, refunded. */
const note = (o: Partial<CreditNoteDocument> = {}): CreditNoteDocument => ({
  number: "JP-000042-CN-02",
  issueDate: new Date("2026-12-03T15:30:00Z"),
  currency: "JPY",
  timeZone: "Asia/Tokyo",
  reason: "Overbilled <tokens> & \"images\"",
  issuer: { name: "Tally KK", address: ["1-1 Chiyoda"], reference: "T1234567890123" },
  customer: { name: "Sakura AI", address: ["2-2 Shibuya"], reference: "Customer cus_jp", email: "ap@sakura.example" },
  invoice: { number: "JP-000042", issueDate: new Date("2026-12-01T00:10:00Z"), period: { start: new Date("2026-10-31T15:00:00Z"), end: new Date("2026-11-30T15:00:00Z") } },
  lines: [
    { description: "Pro plan", invoiceAmount: "5000", amount: "1818" },
    { description: "Tokens", invoiceAmount: "2500", amount: "909" },
  ],
  netAmount: "2727",
  taxes: [{ name: "Consumption tax", ratePercent: "10", taxableAmount: "2727", amount: "273" }],
  total: "3000",
  refundDue: "3000",
  balanceCredited: "0",
  ...o,
});

describe("credit note PDF, read back with pdftotext", () => {
  it("prints number, dates in the customer's zone, the invoice credited, lines, tax, total and the refund, in yen", async () => {
    const text = await pdfText(await renderCreditNotePdf(note()));
    const lines = rows(text);
    for (const row of ["Credits invoice | JP-000042", "Invoice date | Dec 1, 2026", "Billing period | Nov 1, 2026 – Nov 30, 2026", "Pro plan | ¥5,000 | ¥1,818", "Tokens | ¥2,500 | ¥909", "Credited before tax | ¥2,727", "Consumption tax (10%) | ¥273", "Total credited | ¥3,000", "Refund owed | ¥3,000"]) {
      expect(lines).toContain(row);
    }
    // Issued at 15:30 UTC on Dec 3: Dec 4 in Tokyo.
    for (const detail of ["JP-000042-CN-02", "Dec 4, 2026", "CREDITED TO", "Sakura AI", "T1234567890123", 'Overbilled <tokens> & "images"', "¥3,000 is refunded to you."]) expect(text).toContain(detail);
    expect(text).not.toContain("Balance credited");
  });

  it("says where the money went: the balance, or a lower invoice", async () => {
    const toBalance = rows(await pdfText(await renderCreditNotePdf(note({ refundDue: "0", balanceCredited: "3000" }))));
    expect(toBalance).toContain("Balance credited | ¥3,000");
    expect(toBalance).toContain("¥3,000 is added to your balance and applied to your next invoice.");
    const unpaid = await pdfText(await renderCreditNotePdf(note({ refundDue: "0" })));
    expect(unpaid).toContain("Invoice JP-000042 is reduced by ¥3,000.");
    expect(unpaid).not.toContain("Refund owed");
  });

  it("is the same bytes every time; HTML escapes the reason", async () => {
    expect((await renderCreditNotePdf(note())).equals(await renderCreditNotePdf(note()))).toBe(true);
    const html = renderCreditNoteHtml(note());
    expect(html).toContain("Overbilled &lt;tokens&gt; &amp; &quot;images&quot;");
    expect(html).toContain("<th>Total credited</th><td class=\"num\">¥3,000</td>");
  });
});

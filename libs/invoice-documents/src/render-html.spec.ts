import { renderInvoiceHtml } from "./render-html";
import { presentInvoice } from "./present-invoice";
import { sampleInvoice } from "./testing/sample-invoice";

const text = (html: string) =>
  html
    .replace(/<style[\s\S]*?<\/style>/, "")
    .replace(/<[^>]+>/g, " ")
    .replace(/&amp;/g, "&")
    .replace(/\u00a0/g, " ")
    .replace(/\s+/g, " ");

test("the HTML shows the same figures as the PDF presenter formats", () => {
  const html = text(renderInvoiceHtml(sampleInvoice()));
  const p = presentInvoice(sampleInvoice());
  for (const figure of [
    ...p.facts.map((f) => f.value),
    ...p.lines.flatMap((l) => [l.description, l.quantity, l.amount, ...l.steps.flatMap((s) => [s.label, s.quantity, s.subtotal])]),
    ...p.totals.map((t) => `${t.label} ${t.value}`),
    ...p.prorations.map((s) => `${s.plan} ${s.range} ${s.share}`),
  ]) {
    expect(html).toContain(figure.replace(/\u00a0/g, " "));
  }
  expect(html).toContain("Amount due $2,987.70");
  expect(html).toContain("Tier 2 (1,000,000 – 5,000,000) 4,000,000 $0.0004 + $25.00 $1,625.00");
});

test("customer-supplied text is escaped", () => {
  const html = renderInvoiceHtml(sampleInvoice({ customer: { name: "<script>alert(1)</script> & Co", address: [] } }));
  expect(html).not.toContain("<script>");
  expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co");
});

import type { InvoiceDocument } from "./invoice-document";
import { presentInvoice, type PresentedParty } from "./present-invoice";

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);

/** A self-contained HTML page (inline styles, no external assets) showing the invoice. */
export function renderInvoiceHtml(doc: InvoiceDocument): string {
  const p = presentInvoice(doc);
  const e = escapeHtml;
  const party = (title: string, who: PresentedParty) =>
    `<section class="party"><h2>${e(title)}</h2><strong>${e(who.name)}</strong>${who.lines.map((l) => `<div>${e(l)}</div>`).join("")}</section>`;
  const rows = p.lines
    .map((line) => {
      const main = `<tr class="line"><td>${e(line.description)}${line.note ? `<div class="note">${e(line.note)}</div>` : ""}</td><td class="num">${e(line.quantity)}</td><td></td><td class="num">${e(line.amount)}</td></tr>`;
      const steps = line.steps
        .map(
          (s) =>
            `<tr class="step"><td>${e(s.label)}</td><td class="num">${e(s.quantity)}</td><td class="num">${e(s.unitAmount)}${s.flatAmount ? ` + ${e(s.flatAmount)}` : ""}</td><td class="num">${e(s.subtotal)}</td></tr>`,
        )
        .join("");
      return main + steps;
    })
    .join("");
  const prorations = p.prorations.length
    ? `<h2>Prorations</h2><table class="prorations"><thead><tr><th>Plan</th><th>Dates</th><th class="num">Share of period</th></tr></thead><tbody>${p.prorations
        .map((s) => `<tr><td>${e(s.plan)}</td><td>${e(s.range)}</td><td class="num">${e(s.share)}</td></tr>`)
        .join("")}</tbody></table>`
    : "";
  const totals = p.totals
    .map((t) => `<tr${t.emphasis ? ' class="due"' : ""}><th>${e(t.label)}</th><td class="num">${e(t.value)}</td></tr>`)
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${e(p.title)} ${e(p.number)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1f2933;margin:0;background:#f5f7fa}
.sheet{max-width:820px;margin:24px auto;background:#fff;padding:40px 48px;border:1px solid #e4e7eb;border-radius:6px}
header{display:flex;justify-content:space-between;align-items:flex-start}
h1{font-size:28px;margin:0;letter-spacing:.5px}h2{font-size:12px;text-transform:uppercase;color:#7b8794;margin:24px 0 6px}
.status{display:inline-block;padding:2px 10px;border-radius:10px;background:#e3f8ff;color:#0b69a3;font-size:12px;margin-top:6px}
dl.facts{display:grid;grid-template-columns:auto auto;gap:2px 16px;margin:0}dl.facts dt{color:#7b8794}dl.facts dd{margin:0;text-align:right}
.parties{display:flex;gap:48px}.party{flex:1}
table{width:100%;border-collapse:collapse}th,td{padding:6px 4px;text-align:left;vertical-align:top}
thead th{border-bottom:2px solid #cbd2d9;font-size:12px;color:#52606d}
tr.line td{border-top:1px solid #e4e7eb;font-weight:600}tr.step td{color:#616e7c;font-size:12.5px;padding-left:18px}
.num{text-align:right;white-space:nowrap}.note{font-weight:400;color:#7b8794;font-size:12px}
table.totals{width:320px;margin:16px 0 0 auto}table.totals th{font-weight:400;color:#52606d}
tr.due th,tr.due td{font-weight:700;font-size:16px;border-top:2px solid #1f2933}
</style></head>
<body><main class="sheet">
<header><div><h1>${e(p.title)}</h1><div class="status">${e(p.status)}</div></div>
<dl class="facts">${p.facts.map((f) => `<dt>${e(f.label)}</dt><dd>${e(f.value)}</dd>`).join("")}</dl></header>
<div class="parties">${party("From", p.issuer)}${party("Bill to", p.customer)}</div>
<h2>Charges</h2>
<table class="lines"><thead><tr><th>Description</th><th class="num">Quantity</th><th class="num">Unit price</th><th class="num">Amount</th></tr></thead><tbody>${rows}</tbody></table>
<table class="totals"><tbody>${totals}</tbody></table>
${prorations}
</main></body></html>
`;
}

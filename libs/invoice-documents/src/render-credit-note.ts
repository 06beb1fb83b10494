import { presentCreditNote, type CreditNoteDocument, type PresentedCreditNote } from "./credit-note-document";
import { drawParties, drawTotals, ensureRoom, INK, MUTED, PAGE, renderA4Pdf, RIGHT, row, rule, type Pdf } from "./render-pdf";

/**
 * The credit note as a PDF, laid out like the invoice PDF (render-pdf.ts). Its creation date is
 * the note's issue time, so the same credit note renders to the same bytes on every call.
 */
export function renderCreditNotePdf(doc: CreditNoteDocument): Promise<Buffer> {
  const p = presentCreditNote(doc);
  const info = { Title: `${p.title} ${p.number}`, Author: doc.issuer.name, Subject: `Credit note for ${doc.customer.name}`, CreationDate: doc.issueDate };
  return renderA4Pdf(info, (pdf) => {
    drawHeader(pdf, p);
    drawParties(pdf, p.issuer, p.customer, "Credited to");
    drawReason(pdf, p);
    drawLines(pdf, p);
    drawTotals(pdf, p);
    pdf.font("Helvetica").fontSize(9.5).fillColor(INK).text(p.settlement, PAGE.margin, pdf.y, { width: RIGHT - PAGE.margin });
  });
}

function drawHeader(pdf: Pdf, p: PresentedCreditNote): void {
  const top = PAGE.margin;
  pdf.fillColor(INK).font("Helvetica-Bold").fontSize(24).text(p.title, PAGE.margin, top);
  let y = top;
  for (const fact of p.facts) {
    pdf.font("Helvetica").fontSize(9).fillColor(MUTED).text(fact.label, 330, y, { width: 100 });
    pdf.fillColor(INK).text(fact.value, 430, y, { width: RIGHT - 430, align: "right" });
    y += 14;
  }
  pdf.y = Math.max(y, top + 50) + 16;
}

function drawReason(pdf: Pdf, p: PresentedCreditNote): void {
  pdf.font("Helvetica-Bold").fontSize(8).fillColor(MUTED).text("REASON", PAGE.margin, pdf.y);
  pdf.font("Helvetica").fontSize(9.5).fillColor(INK).text(p.reason, PAGE.margin, pdf.y + 2, { width: RIGHT - PAGE.margin });
  pdf.y += 18;
}

function drawLines(pdf: Pdf, p: PresentedCreditNote): void {
  ensureRoom(pdf, 40);
  let y = row(pdf, pdf.y, ["Invoice line", "", "Invoiced", "Credited"], { bold: true, size: 8.5, color: MUTED }) + 4;
  rule(pdf, y, INK, 1);
  y += 6;
  for (const line of p.lines) {
    pdf.y = y;
    ensureRoom(pdf, 24);
    y = row(pdf, pdf.y, [line.description, "", line.invoiceAmount, line.amount], { size: 9.5, color: INK }) + 6;
    rule(pdf, y);
    y += 6;
  }
  pdf.y = y;
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);

/** The credit note as a self-contained HTML page (inline styles, no external assets). */
export function renderCreditNoteHtml(doc: CreditNoteDocument): string {
  const p = presentCreditNote(doc);
  const e = escapeHtml;
  const party = (title: string, who: PresentedCreditNote["issuer"]) =>
    `<section class="party"><h2>${e(title)}</h2><strong>${e(who.name)}</strong>${who.lines.map((l) => `<div>${e(l)}</div>`).join("")}</section>`;
  const lines = p.lines.map((l) => `<tr><td>${e(l.description)}</td><td class="num">${e(l.invoiceAmount)}</td><td class="num">${e(l.amount)}</td></tr>`).join("");
  const totals = p.totals.map((t) => `<tr${t.emphasis ? ' class="due"' : ""}><th>${e(t.label)}</th><td class="num">${e(t.value)}</td></tr>`).join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${e(p.title)} ${e(p.number)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1f2933;margin:0;background:#f5f7fa}
.sheet{max-width:820px;margin:24px auto;background:#fff;padding:40px 48px;border:1px solid #e4e7eb;border-radius:6px}
header{display:flex;justify-content:space-between;align-items:flex-start}
h1{font-size:28px;margin:0;letter-spacing:.5px}h2{font-size:12px;text-transform:uppercase;color:#7b8794;margin:24px 0 6px}
dl.facts{display:grid;grid-template-columns:auto auto;gap:2px 16px;margin:0}dl.facts dt{color:#7b8794}dl.facts dd{margin:0;text-align:right}
.parties{display:flex;gap:48px}.party{flex:1}
table{width:100%;border-collapse:collapse}th,td{padding:6px 4px;text-align:left;vertical-align:top}
thead th{border-bottom:2px solid #cbd2d9;font-size:12px;color:#52606d}tbody td{border-top:1px solid #e4e7eb}
.num{text-align:right;white-space:nowrap}
table.totals{width:320px;margin:16px 0 0 auto}table.totals th{font-weight:400;color:#52606d}table.totals td,table.totals th{border:0}
tr.due th,tr.due td{font-weight:700;font-size:16px;border-top:2px solid #1f2933}
</style></head>
<body><main class="sheet">
<header><div><h1>${e(p.title)}</h1></div>
<dl class="facts">${p.facts.map((f) => `<dt>${e(f.label)}</dt><dd>${e(f.value)}</dd>`).join("")}</dl></header>
<div class="parties">${party("From", p.issuer)}${party("Credited to", p.customer)}</div>
<h2>Reason</h2><p class="reason">${e(p.reason)}</p>
<h2>Credited</h2>
<table class="lines"><thead><tr><th>Invoice line</th><th class="num">Invoiced</th><th class="num">Credited</th></tr></thead><tbody>${lines}</tbody></table>
<table class="totals"><tbody>${totals}</tbody></table>
<p class="settlement">${e(p.settlement)}</p>
</main></body></html>
`;
}

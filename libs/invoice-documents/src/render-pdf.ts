import PDFDocument from "pdfkit";
import type { InvoiceDocument } from "./invoice-document";
import { presentInvoice, type PresentedInvoice, type PresentedParty } from "./present-invoice";

// A4 in points, with the columns of the charges table.
export const PAGE = { width: 595.28, height: 841.89, margin: 48 };
export const RIGHT = PAGE.width - PAGE.margin;
const COL = { description: { x: 48, w: 236 }, quantity: { x: 288, w: 88 }, unit: { x: 380, w: 92 }, amount: { x: 476, w: RIGHT - 476 } };
export const INK = "#1f2933";
export const MUTED = "#7b8794";
const RULE = "#cbd2d9";

/**
 * The invoice as a PDF (A4, the standard Helvetica fonts, so no font files ship with it).
 * Resolves once pdfkit has written every byte.
 */
export function renderInvoicePdf(doc: InvoiceDocument): Promise<Buffer> {
  const p = presentInvoice(doc);
  // The creation date (and the file id pdfkit derives from it) is the invoice's, not the clock's,
  // so the same invoice renders to the same bytes wherever and whenever it is downloaded.
  const info = { Title: `${p.title} ${p.number}`.trim(), Author: doc.issuer.name, Subject: `Invoice for ${doc.customer.name}`, CreationDate: doc.issueDate ?? doc.period.end };
  return renderA4Pdf(info, (pdf) => {
    drawHeader(pdf, p);
    drawParties(pdf, p.issuer, p.customer);
    drawLines(pdf, p);
    drawTotals(pdf, p);
    drawProrations(pdf, p);
  });
}

/** An A4 document with the pages `draw` lays out, as bytes once pdfkit has written them all. */
export function renderA4Pdf(info: PDFKit.DocumentInfo, draw: (pdf: Pdf) => void): Promise<Buffer> {
  const pdf = new PDFDocument({ size: "A4", margin: PAGE.margin, info });
  const chunks: Buffer[] = [];
  pdf.on("data", (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Buffer>((resolve, reject) => {
    pdf.on("end", () => resolve(Buffer.concat(chunks)));
    pdf.on("error", reject);
  });
  draw(pdf);
  pdf.end();
  return done;
}

export type Pdf = PDFKit.PDFDocument;

function drawHeader(pdf: Pdf, p: PresentedInvoice): void {
  const top = PAGE.margin;
  pdf.fillColor(INK).font("Helvetica-Bold").fontSize(24).text(p.title, PAGE.margin, top);
  pdf.font("Helvetica").fontSize(10).fillColor(MUTED).text(`Status: ${p.status}`, PAGE.margin, top + 32);
  let y = top;
  for (const fact of p.facts) {
    pdf.fontSize(9).fillColor(MUTED).text(fact.label, 330, y, { width: 100 });
    pdf.fillColor(INK).text(fact.value, 430, y, { width: RIGHT - 430, align: "right" });
    y += 14;
  }
  pdf.y = Math.max(y, top + 50) + 16;
}

export function drawParties(pdf: Pdf, issuer: PresentedParty, customer: PresentedParty, customerTitle = "Bill to"): void {
  const top = pdf.y;
  const block = (title: string, who: PresentedParty, x: number): number => {
    pdf.font("Helvetica-Bold").fontSize(8).fillColor(MUTED).text(title.toUpperCase(), x, top, { width: 240 });
    pdf.font("Helvetica-Bold").fontSize(11).fillColor(INK).text(who.name, x, top + 14, { width: 240 });
    pdf.font("Helvetica").fontSize(9.5);
    for (const line of who.lines) pdf.text(line, x, pdf.y + 1, { width: 240 });
    return pdf.y;
  };
  const bottom = Math.max(block("From", issuer, PAGE.margin), block(customerTitle, customer, 310));
  pdf.y = bottom + 24;
}

export function ensureRoom(pdf: Pdf, height: number): void {
  if (pdf.y + height > PAGE.height - PAGE.margin) {
    pdf.addPage();
    pdf.y = PAGE.margin;
  }
}

export function row(pdf: Pdf, y: number, cells: [string, string, string, string], options: { bold?: boolean; size: number; color: string; indent?: number }): number {
  const font = options.bold ? "Helvetica-Bold" : "Helvetica";
  pdf.font(font).fontSize(options.size).fillColor(options.color);
  const indent = options.indent ?? 0;
  const descriptionHeight = pdf.heightOfString(cells[0], { width: COL.description.w - indent });
  pdf.text(cells[0], COL.description.x + indent, y, { width: COL.description.w - indent });
  pdf.text(cells[1], COL.quantity.x, y, { width: COL.quantity.w, align: "right" });
  pdf.text(cells[2], COL.unit.x, y, { width: COL.unit.w, align: "right" });
  pdf.text(cells[3], COL.amount.x, y, { width: COL.amount.w, align: "right" });
  return y + descriptionHeight;
}

export function rule(pdf: Pdf, y: number, color = RULE, width = 0.6): void {
  pdf.moveTo(PAGE.margin, y).lineTo(RIGHT, y).lineWidth(width).strokeColor(color).stroke();
}

function drawLines(pdf: Pdf, p: PresentedInvoice): void {
  ensureRoom(pdf, 40);
  let y = row(pdf, pdf.y, ["Description", "Quantity", "Unit price", "Amount"], { bold: true, size: 8.5, color: MUTED }) + 4;
  rule(pdf, y, INK, 1);
  y += 6;
  for (const line of p.lines) {
    pdf.y = y;
    ensureRoom(pdf, 30 + line.steps.length * 12);
    y = row(pdf, pdf.y, [line.description, line.quantity, "", line.amount], { bold: true, size: 9.5, color: INK });
    if (line.note) {
      pdf.font("Helvetica").fontSize(8).fillColor(MUTED).text(line.note, COL.description.x, y + 1, { width: COL.description.w });
      y = pdf.y;
    }
    for (const step of line.steps) {
      const unit = step.flatAmount ? `${step.unitAmount} + ${step.flatAmount}` : step.unitAmount;
      y = row(pdf, y + 2, [step.label, step.quantity, unit, step.subtotal], { size: 8, color: MUTED, indent: 10 });
    }
    y += 6;
    rule(pdf, y);
    y += 6;
  }
  pdf.y = y;
}

export function drawTotals(pdf: Pdf, p: Pick<PresentedInvoice, "totals">): void {
  ensureRoom(pdf, p.totals.length * 18 + 20);
  let y = pdf.y + 6;
  for (const total of p.totals) {
    if (total.emphasis) {
      pdf.moveTo(330, y).lineTo(RIGHT, y).lineWidth(1).strokeColor(INK).stroke();
      y += 6;
    }
    const size = total.emphasis ? 12 : 9.5;
    pdf.font(total.emphasis ? "Helvetica-Bold" : "Helvetica").fontSize(size).fillColor(total.emphasis ? INK : "#52606d");
    pdf.text(total.label, 330, y, { width: 120 });
    pdf.fillColor(INK).text(total.value, 450, y, { width: RIGHT - 450, align: "right" });
    y += size + 7;
  }
  pdf.y = y + 12;
}

function drawProrations(pdf: Pdf, p: PresentedInvoice): void {
  if (p.prorations.length === 0) return;
  ensureRoom(pdf, 40 + p.prorations.length * 14);
  pdf.font("Helvetica-Bold").fontSize(8).fillColor(MUTED).text("PRORATIONS", PAGE.margin, pdf.y);
  let y = pdf.y + 4;
  for (const segment of p.prorations) {
    pdf.font("Helvetica").fontSize(9).fillColor(INK);
    pdf.text(segment.plan, PAGE.margin, y, { width: 140 });
    pdf.text(segment.range, 190, y, { width: 220 });
    pdf.text(`${segment.share} of period`, 410, y, { width: RIGHT - 410, align: "right" });
    y += 14;
  }
  pdf.y = y;
}

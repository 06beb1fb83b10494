import { writeFile } from "node:fs/promises";
import * as path from "node:path";
import type { Command } from "commander";
import { invoicing } from "@tally/contracts";
import { renderFields, renderTable } from "../format/table";
import { formatTime } from "../format/time";
import type { Session } from "../session";
import { UsageError } from "../usage-error";

/** Credit notes (invoicing): list an invoice's, show one, download its document. Issue one with `invoices credit-note`. */
export function registerCreditNoteCommands(program: Command, session: Session): void {
  const notes = program.command("credit-notes").description("credit notes (invoicing); issue one with `tally invoices credit-note`");

  notes
    .command("list <invoice-id>")
    .description("an invoice's credit notes, oldest first")
    .action(async (invoiceId: string) => {
      const response = await session.client("invoicing").listCreditNotes({ invoiceId });
      session.out.message(invoicing.ListCreditNotesResponseSchema, response, () =>
        renderTable(
          ["id", "number", "issued", "amount", "refund owed", "balance credited", "reason"],
          response.creditNotes.map((n) => [n.id, n.number, formatTime(n.createTime), money(n.amount), money(n.refundDue), money(n.balanceCredited), n.reason]),
        ),
      );
    });

  notes
    .command("show <id>")
    .description("a credit note with the lines and taxes it credits")
    .action(async (creditNoteId: string) => {
      const response = await session.client("invoicing").getCreditNote({ creditNoteId });
      session.out.message(invoicing.GetCreditNoteResponseSchema, response, () => renderCreditNote(response.creditNote!));
    });

  notes
    .command("download <id>")
    .description("save the credit note's PDF (or HTML): the document invoicing renders, the same the console serves")
    .option("--out <file>", "where to write it (default: the credit note number, e.g. TLY-000001-CN-01.pdf, in the current directory)")
    .option("--format <format>", "pdf or html", "pdf")
    .action(async (creditNoteId: string, o: { out?: string; format: string }) => {
      const format = DOCUMENT_FORMATS[o.format.toLowerCase()];
      if (format === undefined) throw new UsageError(`--format must be pdf or html, got "${o.format}"`);
      const document = await session.client("invoicing").getCreditNoteDocument({ creditNoteId, format });
      const file = path.resolve(session.io.cwd, o.out ?? document.fileName);
      await writeFile(file, document.content).catch((err: NodeJS.ErrnoException) => {
        throw new UsageError(`cannot write ${file}: ${err.code ?? err.message}`);
      });
      const saved = { creditNoteId, file, contentType: document.contentType, bytes: document.content.byteLength };
      session.out.value(saved, () => `saved ${file} (${saved.contentType}, ${saved.bytes.toLocaleString("en-US")} bytes)\n`);
    });
}

const DOCUMENT_FORMATS: Record<string, invoicing.DocumentFormat | undefined> = { pdf: invoicing.DocumentFormat.PDF, html: invoicing.DocumentFormat.HTML };

const money = (m: { amount: string; currency: string } | undefined) => (m && m.amount ? `${m.amount} ${m.currency}` : "");

function renderCreditNote(n: invoicing.CreditNote): string {
  const currency = n.amount?.currency ?? "";
  return (
    renderFields([
      ["id", n.id],
      ["number", n.number],
      ["invoice", n.invoiceNumber ? `${n.invoiceNumber} (${n.invoiceId})` : n.invoiceId],
      ["issued", formatTime(n.createTime)],
      ["reason", n.reason],
    ]) +
    (n.lines.length === 0 ? "" : renderTable(["invoice line", "invoiced", "credited"], n.lines.map((l) => [l.description, l.invoiceAmount, l.amount]))) +
    renderFields([
      ["credited before tax", n.netAmount ? `${n.netAmount} ${currency}` : undefined],
      ...n.taxLines.map((t): [string, string] => [`${t.name} (${t.percent}%)`, `${t.amount} ${currency}`]),
      ["total credited", money(n.amount)],
      ["refund owed", money(n.refundDue)],
      ["balance credited", money(n.balanceCredited)],
    ])
  );
}

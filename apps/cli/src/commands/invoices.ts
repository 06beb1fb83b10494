import { randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import * as path from "node:path";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { invoicing, payments } from "@tally/contracts";
import { displayDecimal } from "../format/decimal";
import { renderFields, renderTable } from "../format/table";
import { formatTime, parseTime } from "../format/time";
import { enumChoice, enumName } from "../options";
import type { Session } from "../session";
import { UsageError } from "../usage-error";
import { allPages } from "./paging";

/** Invoices and credit notes (invoicing) and reconciliation (payments). */
export function registerInvoiceCommands(program: Command, session: Session): void {
  const invoices = program.command("invoices").description("invoices and credit notes (invoicing)");

  invoices
    .command("list")
    .description("invoices, newest period first")
    .option("--customer <id>", "only this customer's")
    .option("--status <status>", "draft, finalized, paid, void or uncollectible", enumChoice(invoicing.InvoiceStatus))
    .action(async (o: { customer?: string; status?: invoicing.InvoiceStatus }) => {
      const client = session.client("invoicing");
      const list = await allPages(async (pageToken) => {
        const page = await client.listInvoices({ customerId: o.customer ?? "", status: o.status ?? invoicing.InvoiceStatus.UNSPECIFIED, pageToken, pageSize: 1000 });
        return { items: page.invoices, nextPageToken: page.nextPageToken };
      });
      session.out.message(invoicing.ListInvoicesResponseSchema, create(invoicing.ListInvoicesResponseSchema, { invoices: list }), () =>
        renderTable(
          ["id", "number", "customer", "status", "period", "total", "amount due"],
          list.map((i) => [i.id, i.number, i.customerId, enumName(invoicing.InvoiceStatus, i.status), `${formatTime(i.period?.start)} → ${formatTime(i.period?.end)}`, `${i.total} ${i.currency}`, `${i.amountDue} ${i.currency}`]),
        ),
      );
    });

  invoices
    .command("show <id>")
    .description("an invoice with its lines")
    .action(async (invoiceId: string) => {
      const response = await session.client("invoicing").getInvoice({ invoiceId });
      session.out.message(invoicing.GetInvoiceResponseSchema, response, () => renderInvoice(response.invoice!));
    });

  invoices
    .command("finalize <id>")
    .description("freeze a draft invoice and give it its number")
    .action(async (invoiceId: string) => {
      const response = await session.client("invoicing").finalizeInvoice({ invoiceId });
      session.out.message(invoicing.FinalizeInvoiceResponseSchema, response, () => renderInvoice(response.invoice!));
    });

  invoices
    .command("void <id>")
    .description("void an unpaid invoice")
    .option("--reason <text>", "why")
    .action(async (invoiceId: string, o: { reason?: string }) => {
      const response = await session.client("invoicing").voidInvoice({ invoiceId, reason: o.reason ?? "" });
      session.out.message(invoicing.VoidInvoiceResponseSchema, response, () => renderInvoice(response.invoice!));
    });

  invoices
    .command("credit-note <id>")
    .description("credit part or all of a finalized or paid invoice (in the invoice's currency)")
    .requiredOption("--amount <decimal>", "amount to credit")
    .requiredOption("--reason <text>", "printed on the credit note")
    .option("--idempotency-key <key>", "reuse it to retry safely (default: a new one, printed)")
    .action(async (invoiceId: string, o: { amount: string; reason: string; idempotencyKey?: string }) => {
      const client = session.client("invoicing");
      const { invoice } = await client.getInvoice({ invoiceId });
      const response = await client.createCreditNote({
        invoiceId,
        amount: { amount: o.amount, currency: invoice!.currency },
        reason: o.reason,
        idempotencyKey: o.idempotencyKey ?? randomUUID(),
      });
      const note = response.creditNote!;
      session.out.message(invoicing.CreateCreditNoteResponseSchema, response, () =>
        renderFields([
          ["credit note", note.id],
          ["invoice", note.invoiceId],
          ["amount", note.amount ? `${note.amount.amount} ${note.amount.currency}` : undefined],
          ["reason", note.reason],
          ["created", formatTime(note.createTime)],
        ]),
      );
    });

  invoices
    .command("download <id>")
    .description("save the invoice's PDF (or HTML): the document invoicing renders, the same the console serves")
    .option("--out <file>", "where to write it (default: the invoice number, e.g. TLY-000001.pdf, in the current directory)")
    .option("--format <format>", "pdf or html", "pdf")
    .action(async (invoiceId: string, o: { out?: string; format: string }) => {
      const format = DOCUMENT_FORMATS[o.format.toLowerCase()];
      if (format === undefined) throw new UsageError(`--format must be pdf or html, got "${o.format}"`);
      const document = await session.client("invoicing").getInvoiceDocument({ invoiceId, format });
      const file = path.resolve(session.io.cwd, o.out ?? document.fileName);
      await writeFile(file, document.content).catch((err: NodeJS.ErrnoException) => {
        throw new UsageError(`cannot write ${file}: ${err.code ?? err.message}`);
      });
      const saved = { invoiceId, file, contentType: document.contentType, bytes: document.content.byteLength };
      session.out.value(saved, () => `saved ${file} (${saved.contentType}, ${saved.bytes.toLocaleString("en-US")} bytes)\n`);
    });

  program
    .command("reconciliation")
    .description("invoiced against collected amounts over a range of finalization times (payments)")
    .requiredOption("--currency <iso>", "ISO 4217 currency")
    .option("--from <time>", "range start, RFC 3339 or a span ago such as 30d", "30d")
    .option("--to <time>", "range end (default now)")
    .action(async (o: { currency: string; from: string; to?: string }) => {
      const response = await session.client("payments").getReconciliation({
        currency: o.currency,
        range: { start: timestampFromDate(parseTime(o.from, "--from")), end: timestampFromDate(o.to ? parseTime(o.to, "--to") : new Date()) },
      });
      const r = response.reconciliation!;
      session.out.message(payments.GetReconciliationResponseSchema, response, () =>
        renderFields([
          ["range", `${formatTime(r.range?.start)} → ${formatTime(r.range?.end)}`],
          ["invoiced", `${r.invoicedTotal} ${r.currency}`],
          ["collected", `${r.collectedTotal} ${r.currency}`],
          ["provider collected", `${r.providerCollectedTotal} ${r.currency}`],
          ["outstanding", `${r.outstandingTotal} ${r.currency}`],
          ["mismatches", r.mismatches.length],
        ]) +
          (r.mismatches.length === 0
            ? ""
            : renderTable(
                ["kind", "invoice", "payment attempt", "provider payment", "tally amount", "provider amount"],
                r.mismatches.map((m) => [m.kind, m.invoiceId, m.paymentAttemptId, m.providerPaymentId, m.tallyAmount, m.providerAmount]),
              )),
      );
    });
}

const DOCUMENT_FORMATS: Record<string, invoicing.DocumentFormat | undefined> = { pdf: invoicing.DocumentFormat.PDF, html: invoicing.DocumentFormat.HTML };

function renderInvoice(i: invoicing.Invoice): string {
  return (
    renderFields([
      ["id", i.id],
      ["number", i.number],
      ["customer", i.customerId],
      ["subscription", i.subscriptionId],
      ["status", enumName(invoicing.InvoiceStatus, i.status)],
      ["period", `${formatTime(i.period?.start)} → ${formatTime(i.period?.end)}`],
      ["finalized", formatTime(i.finalizeTime)],
      ["due", formatTime(i.dueTime)],
      ["paid", formatTime(i.paidTime)],
      ["voided", formatTime(i.voidTime)],
    ]) +
    renderTable(
      ["kind", "description", "dimension", "quantity", "amount"],
      i.lines.map((l) => [enumName(invoicing.LineKind, l.kind), l.description, l.dimensionValue, displayDecimal(l.quantity), l.roundedAmount || l.amount]),
    ) +
    renderFields([
      ["subtotal", `${i.subtotal} ${i.currency}`],
      ["total", `${i.total} ${i.currency}`],
      ["credits applied", i.creditsApplied ? `${i.creditsApplied} ${i.currency}` : undefined],
      ["taxable amount", i.taxLines.length > 0 ? `${i.taxableAmount} ${i.currency}` : undefined],
      ...i.taxLines.map((t): [string, string] => [`${t.name} (${t.percent}%)`, `${t.amount} ${i.currency}`]),
      ["tax", i.taxExempt ? "exempt" : undefined],
      ["balance applied", nonZero(i.balanceApplied) ? `${i.balanceApplied} ${i.currency}` : undefined],
      ["amount due", `${i.amountDue} ${i.currency}`],
      ["credit notes", nonZero(i.amountCredited) ? `${i.amountCredited} ${i.currency}` : undefined],
      ["paid", nonZero(i.amountPaid) ? `${i.amountPaid} ${i.currency}` : undefined],
    ])
  );
}

const nonZero = (amount: string) => amount !== "" && !/^0*(\.0*)?$/.test(amount);

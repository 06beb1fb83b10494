import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { loadConsoleSettings, startConsole, type RunningConsole } from "@tally/console";
import { common, invoicing, metering, rating } from "@tally/contracts";
import { formatMoney, formatPreciseMoney } from "@tally/invoice-documents";
import { TEST_KEYS } from "@tally/platform/testing";
import { pdfText } from "../../libs/invoice-documents/src/testing/pdf-text";
import { eventually, untilMeterKnown } from "../support/platform-stack";
import { startInvoicingStack, type InvoicingStack } from "../support/invoicing-stack";

const run = promisify(execFile);
const TALLY = path.join(__dirname, "../../apps/cli/bin/tally.js");
const at = (iso: string) => timestampFromDate(new Date(iso));
const rows = (text: string) => text.split("\n").map((l) => l.trim().replace(/\s{2,}/g, " | "));
const usd = (amount: string) => formatMoney(amount, "USD");

/**
 * One invoice, downloaded three ways: invoicing's GetInvoiceDocument, `tally invoices download`
 * and the console's PDF link. All three are the same bytes, and every amount on the PDF is one of
 * the invoice's own figures (GetInvoice). November: $50 fee, 5,000 tokens as 1,000 × 0.002 +
 * 4,000 × 0.001 = 6.00, total 56.00; VAT 20% = 11.20, city tax 1.5% = 0.84; due 68.04.
 */
describe("an invoice's document, from invoicing, the CLI and the console", () => {
  let stack: InvoicingStack;
  let consoleApp: RunningConsole;
  const customerId = "cus_doc";
  let invoice: invoicing.Invoice;
  let served: invoicing.GetInvoiceDocumentResponse;

  beforeAll(async () => {
    stack = await startInvoicingStack("2026-11-01T00:00:00Z", {
      invoicing: { issuer: { name: "Tally Billing Ltd", address: ["1 Ledger Lane", "London EC1A 1BB"], reference: "VAT GB123456789", email: "billing@tally.example" } },
    });
    await stack.meter.createMeter({ meter: { key: "tokens", eventType: "llm", aggregation: metering.Aggregation.SUM, valueProperty: "tokens" } });
    await untilMeterKnown(() =>
      stack.rater.createPlan({
        plan: {
          key: "pro",
          name: "Pro",
          currency: "USD",
          billingInterval: rating.BillingInterval.MONTH,
          recurringFee: { amount: "50", timing: rating.FeeTiming.IN_ARREARS },
          components: [
            {
              key: "tokens",
              meterKey: "tokens",
              displayName: "Tokens",
              pricing: {
                case: "price" as const,
                value: {
                  model: {
                    case: "graduated" as const,
                    value: { tiers: [{ upTo: "1000", unitAmount: "0.002", flatAmount: "0" }, { upTo: "", unitAmount: "0.001", flatAmount: "0" }] },
                  },
                },
              },
            },
          ],
        },
      }),
    );
    await stack.invoicer.createCustomer({
      customer: {
        customerId,
        legalName: "Acme AI Inc.",
        email: "ap@acme.example",
        billingAddress: { line1: "500 Market St", city: "San Francisco", postalCode: "94105", region: "CA", country: "US" },
        currency: "USD",
        gracePeriod: { seconds: BigInt(600) },
        netTermsDays: 14,
        taxRates: [
          { name: "VAT", percent: "20" },
          { name: "City tax", percent: "1.5" },
        ],
      },
    });
    await stack.rater.createSubscription({ customerId, planKey: "pro", startTime: at("2026-11-01T00:00:00Z") });
    stack.clock.set("2026-11-20T00:00:00Z");
    const recorded = await stack.meter.record({ event: { id: "t1", customerId, eventType: "llm", time: at("2026-11-19T00:00:00Z"), properties: { tokens: "5000" } } });
    expect(recorded.result?.status).toBe(metering.EventStatus.ACCEPTED);
    await eventually(async () => expect((await stack.rater.getCurrentUsage({ customerId })).components[0]?.quantity).toBe("5000"));
    stack.clock.set("2026-12-01T00:05:00Z");
    await eventually(async () => {
      await stack.invoicer.runBillingCycle({});
      expect((await stack.invoicer.listInvoices({ customerId })).invoices).toHaveLength(1);
    });
    stack.clock.set("2026-12-01T00:11:00Z");
    await stack.invoicer.runBillingCycle({});
    invoice = (await stack.invoicer.listInvoices({ customerId })).invoices[0]!;
    expect(invoice.status).toBe(invoicing.InvoiceStatus.FINALIZED);
    served = await stack.invoicer.getInvoiceDocument({ invoiceId: invoice.id });

    const [m, r, l, i] = stack.services;
    consoleApp = await startConsole(
      loadConsoleSettings({
        CONSOLE_HTTP_ADDRESS: "127.0.0.1:0",
        CONSOLE_API_KEY: TEST_KEYS.read,
        CONSOLE_METERING_ADDRESS: m!.address,
        CONSOLE_RATING_ADDRESS: r!.address,
        CONSOLE_LIMITS_ADDRESS: l!.address,
        CONSOLE_INVOICING_ADDRESS: i!.address,
        CONSOLE_PAYMENTS_ADDRESS: "127.0.0.1:1",
        NATS_URL: stack.env.natsUrl,
        NATS_PREFIX: stack.env.natsPrefix,
        LOG_LEVEL: "silent",
      }),
    );
  });
  afterAll(async () => {
    await consoleApp?.stop();
    await stack?.stop();
  });

  it("is a PDF named after the invoice number", () => {
    expect(served.contentType).toBe("application/pdf");
    expect(served.fileName).toBe(`${invoice.number}.pdf`);
    expect(Buffer.from(served.content).subarray(0, 5).toString()).toBe("%PDF-");
  });

  it("prints the invoice's own figures, and no other amount", async () => {
    const text = await pdfText(Buffer.from(served.content));
    const lines = rows(text);
    expect(invoice.taxLines.map((t) => [t.name, t.amount])).toEqual([
      ["VAT", "11.20"],
      ["City tax", "0.84"],
    ]);
    for (const row of [
      `Subtotal | ${usd(invoice.total)}`,
      `Taxable amount | ${usd(invoice.taxableAmount)}`,
      ...invoice.taxLines.map((t) => `${t.name} (${t.percent}%) | ${usd(t.amount)}`),
      `Amount due | ${usd(invoice.amountDue)}`,
    ]) {
      expect(lines).toContain(row);
    }
    expect(invoice.amountDue).toBe("68.04");
    expect(lines).toContain("Tier 1 (0 – 1,000) | 1,000 | $0.002 | $2.00");
    expect(lines).toContain("Tier 2 (above 1,000) | 4,000 | $0.001 | $4.00");
    for (const detail of [invoice.number, "Tally Billing Ltd", "VAT GB123456789", "Acme AI Inc.", "500 Market St", "94105 San Francisco", "ap@acme.example", "Dec 15, 2026"]) {
      expect(text).toContain(detail);
    }
    const figures = new Set([
      ...[invoice.total, invoice.creditsApplied, invoice.taxableAmount, invoice.amountDue].map(usd),
      ...invoice.taxLines.map((t) => usd(t.amount)),
      ...invoice.lines.flatMap((l) => [usd(l.roundedAmount), ...l.details.flatMap((d) => [formatPreciseMoney(d.unitAmount, "USD"), formatPreciseMoney(d.subtotal, "USD")])]),
    ]);
    const printed = text.match(/-?\$[\d,]+(\.\d+)?/g) ?? [];
    expect(printed.length).toBeGreaterThan(8);
    for (const amount of printed) expect(figures).toContain(amount.replace(/^-/, ""));
  });

  it("is the same bytes from `tally invoices download` and from the console", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "invoice-download-"));
    // The command as a shell runs it: its own process, address and key from the environment.
    const cli = await run(process.execPath, [TALLY, "invoices", "download", invoice.id, "--out", "invoice.pdf"], {
      cwd: dir,
      env: { ...process.env, TALLY_API_KEY: TEST_KEYS.read, TALLY_INVOICING_ADDRESS: stack.services[3]!.address },
    });
    expect(cli.stdout).toMatch(/^saved .*invoice\.pdf \(application\/pdf, [\d,]+ bytes\)\n$/);
    const fromCli = readFileSync(path.join(dir, "invoice.pdf"));
    const res = await fetch(`${consoleApp.url}/invoices/${invoice.id}.pdf`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toBe(`inline; filename="${invoice.number}.pdf"`);
    const fromConsole = Buffer.from(await res.arrayBuffer());
    expect(fromCli.equals(Buffer.from(served.content))).toBe(true);
    expect(fromConsole.equals(Buffer.from(served.content))).toBe(true);
  });

  /**
   * A partial credit note of $20.00 on the $68.04 invoice (runs last: it changes the invoice's
   * credited amount). Credited pro rata: net 20 × 56 / 68.04 = 16.46, VAT 3.29, city tax 0.25
   * (largest remainder), the net over the lines 50/56 and 6/56 → 14.70 + 1.76.
   */
  describe("a credit note's document", () => {
    let note: invoicing.CreditNote;
    let document: invoicing.GetCreditNoteDocumentResponse;

    beforeAll(async () => {
      const created = await stack.invoicer.createCreditNote({
        invoiceId: invoice.id,
        amount: { currency: "USD", amount: "20.00" },
        reason: "Service outage on Nov 12",
        idempotencyKey: "cn-doc-1",
      });
      note = (await stack.invoicer.getCreditNote({ creditNoteId: created.creditNote!.id })).creditNote!;
      document = await stack.invoicer.getCreditNoteDocument({ creditNoteId: note.id });
    });

    it("is numbered after the invoice it credits, and adds up: lines to the net, net and taxes to the amount", () => {
      expect(note.number).toBe(`${invoice.number}-CN-01`);
      expect(note.invoiceNumber).toBe(invoice.number);
      expect(note.amount).toMatchObject({ currency: "USD", amount: "20.00" });
      expect(note.netAmount).toBe("16.46");
      expect(note.taxLines.map((t) => [t.name, t.percent, t.taxableAmount, t.amount])).toEqual([
        ["VAT", "20", "16.46", "3.29"],
        ["City tax", "1.5", "16.46", "0.25"],
      ]);
      expect(note.lines.map((l) => [l.ref, l.invoiceAmount, l.amount])).toEqual([
        [invoice.lines[0]!.ref, invoice.lines[0]!.roundedAmount, "14.70"],
        [invoice.lines[1]!.ref, invoice.lines[1]!.roundedAmount, "1.76"],
      ]);
      expect(note.refundDue?.amount).toBe("0.00");
      expect(note.balanceCredited?.amount).toBe("0.00");
      expect(document.contentType).toBe("application/pdf");
      expect(document.fileName).toBe(`${note.number}.pdf`);
    });

    it("prints the credit note's and the invoice's figures, and no other amount", async () => {
      const text = await pdfText(Buffer.from(document.content));
      const lines = rows(text);
      for (const row of [
        // (The first facts share their lines with the large title, which pdftotext splits.)
        `Credits invoice | ${invoice.number}`,
        "Invoice date | Dec 1, 2026",
        "Billing period | Nov 1, 2026 – Nov 30, 2026",
        `Credited before tax | ${usd(note.netAmount)}`,
        ...note.taxLines.map((t) => `${t.name} (${t.percent}%) | ${usd(t.amount)}`),
        `Total credited | ${usd(note.amount!.amount)}`,
        ...note.lines.map((l) => `${l.description} | ${usd(l.invoiceAmount)} | ${usd(l.amount)}`),
      ]) {
        expect(lines).toContain(row);
      }
      for (const detail of ["Credit note number", note.number, "Issue date", "Dec 1, 2026", note.reason, "Tally Billing Ltd", "VAT GB123456789", "Acme AI Inc.", "500 Market St", "ap@acme.example", `Invoice ${invoice.number} is reduced by $20.00.`]) {
        expect(text).toContain(detail);
      }
      const figures = new Set([
        ...[note.amount!.amount, note.netAmount].map(usd),
        ...note.taxLines.map((t) => usd(t.amount)),
        ...note.lines.flatMap((l) => [usd(l.amount), usd(l.invoiceAmount)]),
      ]);
      const printed = text.match(/-?\$[\d,]+(\.\d+)?/g) ?? [];
      expect(printed.length).toBeGreaterThanOrEqual(9);
      for (const amount of printed) expect(figures).toContain(amount);
    });

    it("is the same bytes on every call, from `tally credit-notes download` and from the console's link under the invoice", async () => {
      const again = await stack.invoicer.getCreditNoteDocument({ creditNoteId: note.id, format: invoicing.DocumentFormat.PDF });
      expect(Buffer.from(again.content).equals(Buffer.from(document.content))).toBe(true);
      const dir = mkdtempSync(path.join(tmpdir(), "credit-note-download-"));
      const cli = await run(process.execPath, [TALLY, "credit-notes", "download", note.id, "--out", "credit-note.pdf"], {
        cwd: dir,
        env: { ...process.env, TALLY_API_KEY: TEST_KEYS.read, TALLY_INVOICING_ADDRESS: stack.services[3]!.address },
      });
      expect(cli.stdout).toMatch(/^saved .*credit-note\.pdf \(application\/pdf, [\d,]+ bytes\)\n$/);
      expect(readFileSync(path.join(dir, "credit-note.pdf")).equals(Buffer.from(document.content))).toBe(true);
      // The console lists the note under its invoice, with a link to this very document.
      const page = (await (await fetch(`${consoleApp.url}/api/customers/${customerId}`)).json()) as {
        invoices: { data?: { id: string; creditNotes: { id: string; number: string; pdf: string }[] }[] };
      };
      const listed = page.invoices.data!.find((i) => i.id === invoice.id)!.creditNotes;
      expect(listed.map((n) => [n.id, n.number])).toEqual([[note.id, note.number]]);
      const res = await fetch(`${consoleApp.url}${listed[0]!.pdf}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-disposition")).toBe(`inline; filename="${note.number}.pdf"`);
      expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(document.content))).toBe(true);
      const html = await stack.invoicer.getCreditNoteDocument({ creditNoteId: note.id, format: invoicing.DocumentFormat.HTML });
      expect(html.fileName).toBe(`${note.number}.html`);
      expect(Buffer.from(html.content).toString()).toContain(`<dd>${invoice.number}</dd>`);
    });

    it("answers NOT_FOUND for an unknown id and INVALID_ARGUMENT naming the field for none", async () => {
      const unknown = await stack.invoicer.getCreditNoteDocument({ creditNoteId: "cn_nope" }).catch((err: unknown) => ConnectError.from(err));
      expect(unknown).toBeInstanceOf(ConnectError);
      expect((unknown as ConnectError).code).toBe(Code.NotFound);
      const missing = await stack.invoicer.getCreditNoteDocument({ creditNoteId: "" }).catch((err: unknown) => ConnectError.from(err));
      expect((missing as ConnectError).code).toBe(Code.InvalidArgument);
      expect((missing as ConnectError).findDetails(common.ErrorDetailSchema)[0]?.fieldViolations.map((v) => v.field)).toEqual(["credit_note_id"]);
      const listUnknown = await stack.invoicer.listCreditNotes({ invoiceId: "inv_nope" }).catch((err: unknown) => ConnectError.from(err));
      expect((listUnknown as ConnectError).code).toBe(Code.NotFound);
      expect((await stack.invoicer.listCreditNotes({ invoiceId: invoice.id })).creditNotes.map((n) => n.id)).toEqual([note.id]);
    });
  });
});

import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { TEST_KEYS } from "@tally/platform/testing";
import { invoicing } from "@tally/contracts";
import { ExitCode } from "../exit-codes";
import { FakeBillingServices } from "../testing/fake-billing-services";
import { runTally } from "../testing/cli-harness";

/** Invoicing and payments are not served yet: these run against the contract's in-memory fake. */
describe("invoices and reconciliation (against in-memory Invoicing and Payments)", () => {
  const fake = new FakeBillingServices();
  let env: Record<string, string>;
  const tally = (...args: string[]) => runTally(args, env);

  beforeAll(async () => {
    await fake.start();
    env = { TALLY_API_KEY: TEST_KEYS.all, TALLY_INVOICING_ADDRESS: fake.address, TALLY_PAYMENTS_ADDRESS: fake.address };
    fake.addInvoice({
      id: "inv_1",
      customerId: "cus_42",
      status: invoicing.InvoiceStatus.DRAFT,
      currency: "USD",
      lines: [{ kind: invoicing.LineKind.USAGE, description: "Tokens", quantity: "1200", amount: "2.3", roundedAmount: "2.30" }],
      subtotal: "2.3",
      total: "2.30",
      amountDue: "2.30",
    });
    fake.addInvoice({ id: "inv_2", customerId: "cus_7", status: invoicing.InvoiceStatus.PAID, currency: "EUR", total: "10.00", amountDue: "0" });
  });

  afterAll(() => fake.stop());

  it("lists invoices, filtered by customer and status", async () => {
    const all = await tally("invoices", "list");
    expect(all.stdout).toMatch(/│ inv_1 │ +│ cus_42 +│ draft +│/);
    expect(all.stdout).toMatch(/│ inv_2 │ +│ cus_7 +│ paid +│/);
    const paid = JSON.parse((await tally("invoices", "list", "--status", "paid", "--json")).stdout);
    expect(paid.invoices.map((i: { id: string }) => i.id)).toEqual(["inv_2"]);
  });

  it("finalizes a draft, shows it with its lines, then voids it", async () => {
    const finalized = await tally("invoices", "finalize", "inv_1");
    expect(finalized.code).toBe(0);
    expect(finalized.stdout).toMatch(/^status\s+finalized$/m);
    expect(finalized.stdout).toMatch(/^number\s+INV-\d{4}$/m);
    const shown = await tally("invoices", "show", "inv_1");
    expect(shown.stdout).toMatch(/│ usage +│ Tokens +│ +│ 1200 +│ 2\.30 +│/);
    expect(shown.stdout).toMatch(/^amount due\s+2\.30 USD$/m);
    expect((await tally("invoices", "void", "inv_1", "--reason", "duplicate")).stdout).toMatch(/^status\s+void$/m);
  });

  it("refuses to void a paid invoice with FAILED_PRECONDITION (exit 2), and exits 3 for an unknown one", async () => {
    const paid = await tally("invoices", "void", "inv_2");
    expect(paid.code).toBe(ExitCode.INVALID);
    expect(paid.stderr).toMatch(/^error: FAILED_PRECONDITION \(invoice_paid\)/);
    const unknown = await tally("invoices", "show", "inv_404");
    expect(unknown.code).toBe(ExitCode.NOT_FOUND);
  });

  it("issues a credit note in the invoice's currency, naming the field when the amount is too large", async () => {
    const note = JSON.parse((await tally("invoices", "credit-note", "inv_2", "--amount", "4", "--reason", "outage", "--json")).stdout);
    expect(note.creditNote).toMatchObject({ invoiceId: "inv_2", amount: { currency: "EUR", amount: "4" }, reason: "outage" });
    const tooMuch = await tally("invoices", "credit-note", "inv_2", "--amount", "11", "--reason", "outage");
    expect(tooMuch.code).toBe(ExitCode.INVALID);
    expect(tooMuch.stderr).toMatch(/^ {2}amount\.amount: 11 exceeds what is left to credit \(10\.00\) \[out_of_range\]$/m);
  });

  it("downloads the document invoicing renders, to --out or under its own file name", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "tally-download-"));
    const saved = await runTally(["invoices", "download", "inv_2", "--out", "mine.pdf"], env, dir);
    expect(saved.code).toBe(0);
    expect(saved.stdout).toBe(`saved ${path.join(dir, "mine.pdf")} (application/pdf, 31 bytes)\n`);
    expect(readFileSync(path.join(dir, "mine.pdf"), "utf8")).toBe("%PDF-1.3 fake document of inv_2");
    const html = JSON.parse((await runTally(["invoices", "download", "inv_2", "--format", "html", "--json"], env, dir)).stdout);
    expect(html).toEqual({ invoiceId: "inv_2", file: path.join(dir, "inv_2.html"), contentType: "text/html; charset=utf-8", bytes: 35 });
    expect(readFileSync(html.file, "utf8")).toContain("<title>inv_2</title>");
    const badFormat = await runTally(["invoices", "download", "inv_2", "--format", "docx"], env, dir);
    expect(badFormat.code).toBe(ExitCode.USAGE);
    expect(badFormat.stderr).toContain("--format must be pdf or html");
    expect((await runTally(["invoices", "download", "inv_404"], env, dir)).code).toBe(ExitCode.NOT_FOUND);
    const unwritable = await runTally(["invoices", "download", "inv_2", "--out", "no/such/dir/x.pdf"], env, dir);
    expect(unwritable.code).toBe(ExitCode.USAGE);
    expect(unwritable.stderr).toContain("ENOENT");
  });

  it("lists an invoice's credit notes, shows one, and downloads its document", async () => {
    await tally("invoices", "credit-note", "inv_2", "--amount", "4", "--reason", "outage");
    const listed = await tally("credit-notes", "list", "inv_2");
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/│ cn_inv_2 │ .*│ 4 EUR +│ .*│ outage +│/);
    expect((await tally("credit-notes", "list", "inv_404")).code).toBe(ExitCode.NOT_FOUND);
    const shown = await tally("credit-notes", "show", "cn_inv_2");
    expect(shown.stdout).toMatch(/^total credited\s+4 EUR$/m);
    expect(shown.stdout).toMatch(/^reason\s+outage$/m);
    const dir = mkdtempSync(path.join(tmpdir(), "tally-cn-download-"));
    const saved = JSON.parse((await runTally(["credit-notes", "download", "cn_inv_2", "--out", "cn.pdf", "--json"], env, dir)).stdout);
    expect(saved).toEqual({ creditNoteId: "cn_inv_2", file: path.join(dir, "cn.pdf"), contentType: "application/pdf", bytes: 34 });
    expect(readFileSync(saved.file, "utf8")).toBe("%PDF-1.3 fake credit note cn_inv_2");
    expect((await runTally(["credit-notes", "download", "cn_404"], env, dir)).code).toBe(ExitCode.NOT_FOUND);
    const empty = await runTally(["credit-notes", "download", ""], env, dir);
    expect(empty.code).toBe(ExitCode.INVALID);
    expect(empty.stderr).toMatch(/credit_note_id: is required/);
  });

  it("shows reconciliation totals and mismatches", async () => {
    fake.reconciliation.invoicedTotal = "100";
    fake.reconciliation.collectedTotal = "90";
    fake.reconciliation.providerCollectedTotal = "95";
    fake.reconciliation.outstandingTotal = "10";
    fake.reconciliation.mismatches = [{ $typeName: "tally.payments.v1.ReconciliationMismatch", invoiceId: "inv_9", paymentAttemptId: "pa_1", providerPaymentId: "pi_1", kind: "amount_differs", tallyAmount: "5", providerAmount: "10" }];
    const run = await tally("reconciliation", "--currency", "USD", "--from", "2026-11-01T00:00:00Z", "--to", "2026-12-01T00:00:00Z");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^range\s+2026-11-01T00:00:00Z → 2026-12-01T00:00:00Z$/m);
    expect(run.stdout).toMatch(/^outstanding\s+10 USD$/m);
    expect(run.stdout).toMatch(/│ amount_differs │ inv_9 +│ pa_1 +│ pi_1 +│ 5 +│ 10 +│/);
  });
});

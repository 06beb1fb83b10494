import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { invoicing, payments } from "@tally/contracts";
import {
  createLogger,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  parseApiKeys,
  serviceRegistration,
  startGrpcServer,
  type RunningGrpcServer,
} from "@tally/platform";
import { TEST_API_KEYS } from "@tally/platform/testing";
import { Decimal } from "@tally/pricing";

/**
 * In-memory Invoicing and Payments for the CLI's tests, served over real gRPC by the platform's
 * server (same auth, same ErrorDetail trailers) while the real services are being built. They
 * implement only what the contract promises for the rpcs the CLI calls; the rest answer
 * UNIMPLEMENTED.
 */
export class FakeBillingServices {
  readonly invoices = new Map<string, invoicing.Invoice>();
  readonly creditNotes = new Map<string, invoicing.CreditNote>();
  private server?: RunningGrpcServer;
  reconciliation = create(payments.ReconciliationSchema, {});

  get address(): string {
    if (!this.server) throw new Error("not started");
    return this.server.address;
  }

  addInvoice(init: Parameters<typeof create<typeof invoicing.InvoiceSchema>>[1]): invoicing.Invoice {
    const invoice = create(invoicing.InvoiceSchema, init);
    this.invoices.set(invoice.id, invoice);
    return invoice;
  }

  async start(): Promise<void> {
    const unimplemented = async () => {
      throw new ConnectError("not served by the fake", Code.Unimplemented);
    };
    this.server = await startGrpcServer({
      address: "127.0.0.1:0",
      apiKeys: parseApiKeys(TEST_API_KEYS),
      logger: createLogger({ service: "fake-billing" }, "silent"),
      services: [
        serviceRegistration({
          service: invoicing.Invoicing,
          scopes: { getInvoice: "read", listInvoices: "read", listLateAdjustments: "read", finalizeInvoice: "admin", voidInvoice: "admin", createCreditNote: "admin",
            createCustomer: "admin", updateCustomer: "admin", getCustomer: "read", listCustomers: "read", runBillingCycle: "admin", advanceClock: "admin", reconcileInvoices: "admin", getInvoiceDocument: "read",
            getCreditNote: "read", listCreditNotes: "read", getCreditNoteDocument: "read" },
          handlers: {
            getInvoice: async ({ invoiceId }) => ({ invoice: this.find(invoiceId) }),
            listInvoices: async ({ customerId, status }) => ({
              invoices: [...this.invoices.values()].filter((i) => (!customerId || i.customerId === customerId) && (!status || i.status === status)),
            }),
            finalizeInvoice: async ({ invoiceId }) => {
              const invoice = this.find(invoiceId);
              if (invoice.status === invoicing.InvoiceStatus.DRAFT) {
                invoice.status = invoicing.InvoiceStatus.FINALIZED;
                invoice.number = `INV-${String(this.invoices.size).padStart(4, "0")}`;
                invoice.finalizeTime = timestampFromDate(new Date());
              } else if (invoice.status !== invoicing.InvoiceStatus.FINALIZED) {
                throw new FailedPreconditionError(`invoice ${invoiceId} is ${invoicing.InvoiceStatus[invoice.status]}`, "invoice_not_draft");
              }
              return { invoice };
            },
            voidInvoice: async ({ invoiceId }) => {
              const invoice = this.find(invoiceId);
              if (invoice.status === invoicing.InvoiceStatus.PAID) throw new FailedPreconditionError(`invoice ${invoiceId} is paid: issue a credit note`, "invoice_paid");
              invoice.status = invoicing.InvoiceStatus.VOID;
              invoice.voidTime = timestampFromDate(new Date());
              return { invoice };
            },
            createCreditNote: async ({ invoiceId, amount, reason }) => {
              const invoice = this.find(invoiceId);
              if (!amount || new Decimal(amount.amount).gt(invoice.total)) {
                throw new InvalidArgumentError({ field: "amount.amount", message: `${amount?.amount} exceeds what is left to credit (${invoice.total})`, code: "out_of_range" });
              }
              const creditNote = create(invoicing.CreditNoteSchema, { id: `cn_${invoiceId}`, invoiceId, amount, reason, createTime: timestampFromDate(new Date()) });
              this.creditNotes.set(creditNote.id, creditNote);
              return { creditNote };
            },
            getCreditNote: async ({ creditNoteId }) => ({ creditNote: this.findCreditNote(creditNoteId) }),
            listCreditNotes: async ({ invoiceId }) => {
              this.find(invoiceId);
              return { creditNotes: [...this.creditNotes.values()].filter((n) => n.invoiceId === invoiceId) };
            },
            // Bytes that name the request, as for invoices.
            getCreditNoteDocument: async ({ creditNoteId, format }) => {
              const note = this.findCreditNote(creditNoteId);
              const html = format === invoicing.DocumentFormat.HTML;
              return {
                content: Buffer.from(html ? `<!doctype html><title>${note.id}</title>` : `%PDF-1.3 fake credit note ${note.id}`),
                contentType: html ? "text/html; charset=utf-8" : "application/pdf",
                fileName: `${note.number || note.id}.${html ? "html" : "pdf"}`,
              };
            },
            createCustomer: unimplemented,
            updateCustomer: unimplemented,
            getCustomer: unimplemented,
            listCustomers: unimplemented,
            runBillingCycle: unimplemented,
            advanceClock: unimplemented,
            reconcileInvoices: unimplemented,
            listLateAdjustments: unimplemented,
            // Not a real rendering (invoicing's own tests print the PDF): bytes that name the request.
            getInvoiceDocument: async ({ invoiceId, format }) => {
              const invoice = this.find(invoiceId);
              const html = format === invoicing.DocumentFormat.HTML;
              return {
                content: Buffer.from(html ? `<!doctype html><title>${invoice.id}</title>` : `%PDF-1.3 fake document of ${invoice.id}`),
                contentType: html ? "text/html; charset=utf-8" : "application/pdf",
                fileName: `${invoice.number || invoice.id}.${html ? "html" : "pdf"}`,
              };
            },
          },
        }),
        serviceRegistration({
          service: payments.Payments,
          scopes: { chargeInvoice: "admin", getPaymentAttempt: "read", listPaymentAttempts: "read", getReconciliation: "admin", setDefaultPaymentMethod: "admin", listRefunds: "read" },
          handlers: {
            chargeInvoice: unimplemented,
            getPaymentAttempt: unimplemented,
            listPaymentAttempts: unimplemented,
            getReconciliation: async ({ range, currency }) => ({ reconciliation: { ...this.reconciliation, range, currency } }),
            setDefaultPaymentMethod: unimplemented,
            listRefunds: unimplemented,
          },
        }),
      ],
    });
  }

  async stop(): Promise<void> {
    await this.server?.shutdown(1000);
  }

  private find(id: string): invoicing.Invoice {
    const invoice = this.invoices.get(id);
    if (!invoice) throw new NotFoundError("invoice", id, "invoice_not_found");
    return invoice;
  }

  private findCreditNote(id: string): invoicing.CreditNote {
    if (!id) throw new InvalidArgumentError({ field: "credit_note_id", message: "is required" });
    const note = this.creditNotes.get(id);
    if (!note) throw new NotFoundError("credit note", id, "credit_note_not_found");
    return note;
  }
}

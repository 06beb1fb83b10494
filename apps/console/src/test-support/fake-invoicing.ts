import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { once } from "node:events";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { invoicing } from "@tally/contracts";
import { invoiceDocumentFromProto, renderInvoiceHtml, renderInvoicePdf } from "@tally/invoice-documents";

export interface FakeUpstream {
  address: string;
  close(): Promise<void>;
}

/**
 * A gRPC server standing in for invoicing: it answers GetInvoice, ListInvoices and
 * GetInvoiceDocument (rendered with the library invoicing uses, issued by "Tally Billing Ltd")
 * from `invoices`. Without `invoices` it serves nothing, so every call gets UNIMPLEMENTED, as a
 * service that is not deployed yet would answer.
 */
export async function startFakeUpstream(invoices?: invoicing.Invoice[]): Promise<FakeUpstream> {
  const routes = (router: ConnectRouter) => {
    if (!invoices) return;
    router.service(invoicing.Invoicing, {
      getInvoice(req) {
        const invoice = invoices.find((i) => i.id === req.invoiceId);
        if (!invoice) throw new ConnectError(`invoice ${req.invoiceId} not found`, Code.NotFound);
        return { invoice };
      },
      listInvoices(req) {
        return { invoices: invoices.filter((i) => !req.customerId || i.customerId === req.customerId) };
      },
      async getInvoiceDocument(req) {
        const invoice = invoices.find((i) => i.id === req.invoiceId);
        if (!invoice) throw new ConnectError(`invoice ${req.invoiceId} not found`, Code.NotFound);
        const doc = invoiceDocumentFromProto(invoice, { issuer: { name: "Tally Billing Ltd", address: [] }, customer: { name: invoice.customerId, address: [] } });
        if (req.format === invoicing.DocumentFormat.HTML) return { content: Buffer.from(renderInvoiceHtml(doc)), contentType: "text/html; charset=utf-8", fileName: `${invoice.number}.html` };
        return { content: await renderInvoicePdf(doc), contentType: "application/pdf", fileName: `${invoice.number}.pdf` };
      },
    });
  };
  const server = http2.createServer(connectNodeAdapter({ routes }));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const s of sessions) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

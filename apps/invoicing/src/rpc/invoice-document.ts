import { create } from "@bufbuild/protobuf";
import { invoicing as pb } from "@tally/contracts";
import { creditNoteDocumentFromProto, invoiceDocumentFromProto, renderCreditNoteHtml, renderCreditNotePdf, renderInvoiceHtml, renderInvoicePdf, type Party } from "@tally/invoice-documents";
import { creditNoteToWire, invoiceToWire } from "../adapter/wire";
import { CustomerNotFoundError } from "../domain/errors";
import type { Customer, Invoice } from "../domain/types";
import type { CustomerService } from "../service/customer-service";
import type { InvoiceService } from "../service/invoice-service";
import type { Issuer } from "../settings";

/**
 * GetInvoiceDocument: the invoice as the wire shows it (the same message GetInvoice returns),
 * printed by @tally/invoice-documents with the issuer from settings and the customer's profile.
 * Rendering here, not in each client, is what makes the console's and the CLI's download the
 * same document.
 */
export async function getInvoiceDocument(
  s: { invoices: InvoiceService; customers: CustomerService; issuer: Issuer },
  req: pb.GetInvoiceDocumentRequest,
): Promise<{ content: Uint8Array; contentType: string; fileName: string }> {
  const invoice = await s.invoices.get(req.invoiceId);
  const profile = await s.customers.get(invoice.customerId).catch((err: unknown) => {
    if (err instanceof CustomerNotFoundError) return undefined;
    throw err;
  });
  const doc = invoiceDocumentFromProto(create(pb.InvoiceSchema, invoiceToWire(invoice)), {
    issuer: issuerParty(s.issuer),
    customer: customerParty(invoice, profile),
    timeZone: profile?.timeZone || undefined,
  });
  const base = (invoice.number || invoice.id).replace(/[^A-Za-z0-9._-]/g, "_");
  if (req.format === pb.DocumentFormat.HTML) {
    return { content: Buffer.from(renderInvoiceHtml(doc), "utf8"), contentType: "text/html; charset=utf-8", fileName: `${base}.html` };
  }
  return { content: await renderInvoicePdf(doc), contentType: "application/pdf", fileName: `${base}.pdf` };
}

/**
 * GetCreditNoteDocument: the credit note as GetCreditNote returns it (number, lines and taxes
 * credited) with the invoice it credits, printed like the invoice's document.
 */
export async function getCreditNoteDocument(
  s: { invoices: InvoiceService; customers: CustomerService; issuer: Issuer },
  req: pb.GetCreditNoteDocumentRequest,
): Promise<{ content: Uint8Array; contentType: string; fileName: string }> {
  const described = await s.invoices.creditNote(req.creditNoteId);
  const { invoice } = described;
  const profile = await s.customers.get(invoice.customerId).catch((err: unknown) => {
    if (err instanceof CustomerNotFoundError) return undefined;
    throw err;
  });
  const doc = creditNoteDocumentFromProto(create(pb.CreditNoteSchema, creditNoteToWire(described.note, described)), create(pb.InvoiceSchema, invoiceToWire(invoice)), {
    issuer: issuerParty(s.issuer),
    customer: customerParty(invoice, profile),
    timeZone: profile?.timeZone || undefined,
  });
  const base = described.breakdown.number.replace(/[^A-Za-z0-9._-]/g, "_");
  if (req.format === pb.DocumentFormat.HTML) {
    return { content: Buffer.from(renderCreditNoteHtml(doc), "utf8"), contentType: "text/html; charset=utf-8", fileName: `${base}.html` };
  }
  return { content: await renderCreditNotePdf(doc), contentType: "application/pdf", fileName: `${base}.pdf` };
}

function issuerParty(issuer: Issuer): Party {
  return { name: issuer.name, address: issuer.address, reference: issuer.reference || undefined, email: issuer.email || undefined };
}

/** The name the invoice was issued to; the address and email as the profile has them now. */
function customerParty(invoice: Invoice, profile: Customer | undefined): Party {
  const a = profile?.billingAddress;
  const cityLine = a ? [a.postalCode, a.city].filter(Boolean).join(" ") : "";
  const regionLine = a ? [a.region, a.country].filter(Boolean).join(", ") : "";
  return {
    name: invoice.customerName || profile?.legalName || invoice.customerId,
    address: a ? [a.line1, a.line2, cityLine, regionLine].filter(Boolean) : [],
    reference: `Customer ${invoice.customerId}`,
    email: profile?.email || undefined,
  };
}

export * from "./invoice-document";
export { formatDate, formatDateRange, formatFraction, formatMoney, formatPercent, formatPreciseMoney, formatQuantity } from "./format";
export { presentInvoice, type PresentedInvoice, type PresentedLine, type PresentedParty } from "./present-invoice";
export { renderInvoiceHtml } from "./render-html";
export { renderInvoicePdf } from "./render-pdf";
export { invoiceDocumentFromProto } from "./from-invoice-proto";
export { creditNoteDocumentFromProto, presentCreditNote, type CreditNoteDocument, type PresentedCreditNote } from "./credit-note-document";
export { renderCreditNoteHtml, renderCreditNotePdf } from "./render-credit-note";

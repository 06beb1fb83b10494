export { invoicingService, createInvoicingService, type InvoicingInternals } from "./invoicing-service";
export { loadInvoicingSettings, type InvoicingSettings } from "./settings";

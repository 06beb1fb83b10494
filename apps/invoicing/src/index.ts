export { invoicingService, createInvoicingService, type InvoicingAdapters, type InvoicingInternals } from "./invoicing-service";
export { loadInvoicingSettings, type InvoicingSettings } from "./settings";
export { reconcileCommand } from "./reconcile-cli";

/** What payments keeps about an invoice, copied from invoicing's events. */
export type InvoiceState = "open" | "paid" | "void" | "uncollectible";

export interface InvoiceCopy {
  id: string;
  customerId: string;
  currency: string;
  amountDue: string;
  state: InvoiceState;
  finalizeTime: Date;
  amountPaid: string;
  amountRefunded: string;
}

/** Only an open or uncollectible invoice is charged (a later payment still marks it PAID). */
export function isChargeable(state: InvoiceState): boolean {
  return state === "open" || state === "uncollectible";
}

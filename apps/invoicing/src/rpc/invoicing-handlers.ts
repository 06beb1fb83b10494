import { durationMs, timestampDate } from "@bufbuild/protobuf/wkt";
import type { invoicing as pb } from "@tally/contracts";
import { InvalidArgumentError, ManualClock, SharedClock, type Clock, type ServiceHandlers } from "@tally/platform";
import { creditNoteToWire, customerToWire, invoiceToWire, lateAdjustmentToWire, statusFromWire, ts } from "../adapter/wire";
import type { CustomerInput } from "../domain/customer-validation";
import { ClockNotManualError } from "../domain/errors";
import type { BillingCycle, CycleResult } from "../service/billing-cycle";
import type { CustomerService } from "../service/customer-service";
import type { InvoiceService } from "../service/invoice-service";
import type { Reconciler } from "../service/reconciler";
import type { Issuer } from "../settings";
import { getCreditNoteDocument, getInvoiceDocument } from "./invoice-document";

export interface InvoicingServices {
  customers: CustomerService;
  invoices: InvoiceService;
  cycle: BillingCycle;
  clock: Clock;
  reconciler: Reconciler;
  issuer: Issuer;
}

/** Thin: wire → domain input, call the service, domain → wire. */
export function invoicingHandlers(s: InvoicingServices): ServiceHandlers<typeof pb.Invoicing> {
  return {
    getInvoice: async (req) => ({ invoice: invoiceToWire(await s.invoices.get(req.invoiceId)) }),
    listInvoices: async (req) => {
      const r = await s.invoices.list({ customerId: req.customerId, status: statusFromWire(req.status), pageSize: req.pageSize, pageToken: req.pageToken });
      return { invoices: r.invoices.map(invoiceToWire), nextPageToken: r.nextPageToken };
    },
    listLateAdjustments: async (req) => ({ adjustments: (await s.invoices.lateAdjustments(req.customerId)).map(lateAdjustmentToWire) }),
    finalizeInvoice: async (req) => ({ invoice: invoiceToWire(await s.invoices.finalize(req.invoiceId)) }),
    voidInvoice: async (req) => ({ invoice: invoiceToWire(await s.invoices.void(req.invoiceId, req.reason)) }),
    createCreditNote: async (req) => {
      const note = await s.invoices.createCreditNote(req.invoiceId, {
        amount: req.amount?.amount ?? "",
        currency: req.amount?.currency ?? "",
        reason: req.reason,
        idempotencyKey: req.idempotencyKey,
        creditToBalance: req.creditToBalance,
      });
      return { creditNote: creditNoteToWire(note) };
    },
    createCustomer: async (req) => ({ customer: customerToWire(await s.customers.create(customerInput(req.customer))) }),
    updateCustomer: async (req) => ({ customer: customerToWire(await s.customers.update(customerInput(req.customer))) }),
    getCustomer: async (req) => ({ customer: customerToWire(await s.customers.get(req.customerId)) }),
    listCustomers: async (req) => {
      const r = await s.customers.list(req);
      return { customers: r.customers.map(customerToWire), nextPageToken: r.nextPageToken };
    },
    runBillingCycle: async () => cycleToWire(await s.cycle.run()),
    advanceClock: async (req) => {
      if (!(s.clock instanceof ManualClock)) throw new ClockNotManualError();
      const by = req.by ? durationMs(req.by) : 0;
      if (!(by > 0)) throw new InvalidArgumentError({ field: "by", message: "must be a positive duration" });
      // The deployment's shared clock (TALLY_CLOCK=manual) moves every service, not only this one.
      if (s.clock instanceof SharedClock) await s.clock.moveTo(new Date(s.clock.now().getTime() + by));
      else s.clock.advance(by);
      return { now: ts(s.clock.now()), cycle: cycleToWire(await s.cycle.run()) };
    },
    reconcileInvoices: async (req) => {
      const r = req.periodStart;
      const { checked, findings, writtenOff } = await s.reconciler.run(r?.start && timestampDate(r.start), r?.end && timestampDate(r.end));
      return {
        invoicesChecked: checked,
        findings,
        writtenOff: writtenOff.map((w) => ({ invoiceId: w.invoiceId, number: w.number, ref: w.ref, quantity: w.quantity.toFixed(), amount: w.amount.toFixed(), reason: w.reason, eventIds: w.eventIds })),
      };
    },
    getInvoiceDocument: (req) => getInvoiceDocument(s, req),
    getCreditNote: async (req) => {
      const d = await s.invoices.creditNote(req.creditNoteId);
      return { creditNote: creditNoteToWire(d.note, d) };
    },
    listCreditNotes: async (req) => ({ creditNotes: (await s.invoices.creditNotes(req.invoiceId)).map((d) => creditNoteToWire(d.note, d)) }),
    getCreditNoteDocument: (req) => getCreditNoteDocument(s, req),
  };
}

function cycleToWire(r: CycleResult) {
  return {
    asOfTime: ts(r.asOf),
    draftsCreated: r.draftsCreated,
    invoicesFinalized: r.invoicesFinalized,
    periodsDeferred: r.periodsDeferred,
    closedPeriods: r.closedPeriods.map((p) => ({ start: ts(p.start), end: ts(p.end) })),
  };
}

function customerInput(c: pb.Customer | undefined): CustomerInput {
  if (!c) throw new InvalidArgumentError({ field: "customer", message: "is required" });
  const a = c.billingAddress;
  return {
    customerId: c.customerId,
    legalName: c.legalName,
    email: c.email,
    billingAddress: { line1: a?.line1 ?? "", line2: a?.line2 ?? "", city: a?.city ?? "", postalCode: a?.postalCode ?? "", region: a?.region ?? "", country: a?.country ?? "" },
    currency: c.currency,
    graceMs: c.gracePeriod ? durationMs(c.gracePeriod) : undefined,
    netTermsDays: c.netTermsDays,
    taxRates: c.taxRates.map((t) => ({ name: t.name, percent: t.percent })),
    taxExempt: c.taxExempt,
    invoicePrefix: c.invoicePrefix,
  };
}

/** admin for writes and the clock, read for reads. */
export const INVOICING_SCOPES = {
  getInvoice: "read",
  listInvoices: "read",
  listLateAdjustments: "read",
  finalizeInvoice: "admin",
  voidInvoice: "admin",
  createCreditNote: "admin",
  createCustomer: "admin",
  updateCustomer: "admin",
  getCustomer: "read",
  listCustomers: "read",
  runBillingCycle: "admin",
  advanceClock: "admin",
  reconcileInvoices: "read",
  getInvoiceDocument: "read",
  getCreditNote: "read",
  listCreditNotes: "read",
  getCreditNoteDocument: "read",
} as const;

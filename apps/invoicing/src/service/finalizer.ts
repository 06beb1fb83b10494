import { enqueue, type OutboxMessage, type PoolClient } from "@tally/platform";
import { Decimal } from "@tally/pricing";
import { getCustomer, moveBalance } from "../adapter/customer-store";
import { markFinalized, takeNextNumber } from "../adapter/invoice-store";
import type { PlanSegment } from "../domain/build-invoice";
import { finalize, priceInvoice } from "../domain/build-invoice";
import type { Customer, Invoice, PricedPeriod } from "../domain/types";
import { invoiceEvent } from "./events";

export interface FinalizeInput {
  draft: Invoice;
  priced: PricedPeriod;
  planSegments: PlanSegment[];
  creditsBurned: Decimal;
}

/**
 * Finalizes drafts in the caller's transaction, each re-priced with what rating has now (late
 * usage within grace) and the customer's balance applied. Customers are locked in id order and
 * sequences in prefix order, so concurrent finalizers never deadlock; a number is taken in the
 * same transaction that stores it, so a crash before commit gives it back (gapless) and a commit
 * keeps it for good, even if the invoice is voided later (never reused).
 */
export async function finalizeDrafts(tx: PoolClient, inputs: FinalizeInput[], now: Date): Promise<{ finalized: Invoice[]; messages: OutboxMessage[] }> {
  const customers = new Map<string, Customer>();
  for (const id of [...new Set(inputs.map((i) => i.draft.customerId))].sort()) {
    const c = await getCustomer(tx, id, true);
    if (c) customers.set(id, c);
  }
  const ordered = [...inputs].sort((a, b) => (a.draft.sequencePrefix + a.draft.id < b.draft.sequencePrefix + b.draft.id ? -1 : 1));
  const finalized: Invoice[] = [];
  const messages: OutboxMessage[] = [];
  for (const input of ordered) {
    const customer = customers.get(input.draft.customerId)!;
    const balanceAvailable = input.priced.currency === customer.currency ? customer.balance : new Decimal(0);
    const priced = priceInvoice(input.draft, { priced: input.priced, customer, planSegments: input.planSegments, creditsBurned: input.creditsBurned, balanceAvailable });
    const n = await takeNextNumber(tx, priced.sequencePrefix);
    const invoice = finalize(priced, n, now, customer.netTermsDays);
    await markFinalized(tx, invoice, n);
    if (invoice.balanceApplied.gt(0)) {
      await moveBalance(tx, customer.customerId, invoice.balanceApplied.neg(), `applied:${invoice.id}`, now);
      customer.balance = customer.balance.minus(invoice.balanceApplied);
    }
    finalized.push(invoice);
    messages.push(invoiceEvent("finalized", invoice, now));
  }
  return { finalized, messages };
}

/** Enqueues in the transaction; returns what to hand to the relay after commit. */
export async function enqueueAll(tx: PoolClient, messages: OutboxMessage[]) {
  return messages.length ? enqueue(tx, messages, { notify: false }) : undefined;
}

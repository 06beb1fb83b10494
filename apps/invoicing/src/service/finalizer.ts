import { enqueue, type OutboxMessage, type PoolClient } from "@tally/platform";
import { Decimal } from "@tally/pricing";
import { getCustomers, moveBalance } from "../adapter/customer-store";
import { markFinalized, takeNumbers } from "../adapter/invoice-store";
import { takeAdjustments } from "../adapter/late-adjustment-store";
import { billedAdjustments, finalize, priceInvoice } from "../domain/build-invoice";
import type { LateAdjustment } from "../domain/late-usage";
import type { Invoice, PricedPeriod } from "../domain/types";
import { invoiceEvent } from "./events";

export interface FinalizeInput {
  draft: Invoice;
  priced: PricedPeriod;
  /** `priced` is what the draft already holds (not stale): its lines are not written again. */
  storedPricing: boolean;
  creditsBurned: Decimal;
  adjustments: LateAdjustment[];
}

/**
 * Finalizes drafts in the caller's transaction, each re-priced with what rating has now (late
 * usage within grace) and the customer's balance applied. Customers are locked in id order and
 * sequences in prefix order, so concurrent finalizers never deadlock; a number is taken in the
 * same transaction that stores it, so a crash before commit gives it back (gapless) and a commit
 * keeps it for good, even if the invoice is voided later (never reused). Pending late-usage
 * adjustments are taken by the first invoice of their subscription finalized here, once.
 */
export async function finalizeDrafts(tx: PoolClient, inputs: FinalizeInput[], now: Date): Promise<{ finalized: Invoice[]; messages: OutboxMessage[] }> {
  const customers = await getCustomers(
    tx,
    [...new Set(inputs.map((i) => i.draft.customerId))],
    true,
  );
  const byPrefix = new Map<string, FinalizeInput[]>();
  for (const input of [...inputs].sort((a, b) => (a.draft.id < b.draft.id ? -1 : 1))) {
    byPrefix.set(input.draft.sequencePrefix, [...(byPrefix.get(input.draft.sequencePrefix) ?? []), input]);
  }
  const finalized: (Invoice & { sequenceNumber: number; linesUnchanged: boolean })[] = [];
  const taken = new Set<string>();
  for (const prefix of [...byPrefix.keys()].sort()) {
    const group = byPrefix.get(prefix)!;
    let n = await takeNumbers(tx, prefix, group.length);
    for (const input of group) {
      const customer = customers.get(input.draft.customerId)!;
      const balanceAvailable = input.priced.currency === customer.currency ? customer.balance : new Decimal(0);
      const adjustments = input.adjustments.filter((a) => !taken.has(a.id));
      const priced = priceInvoice(input.draft, { priced: input.priced, customer, creditsBurned: input.creditsBurned, balanceAvailable, adjustments });
      const billed = billedAdjustments(adjustments, priced.currency).map((a) => a.id);
      if (!(await takeAdjustments(tx, input.draft.id, billed))) throw new Error(`late adjustments of ${input.draft.subscriptionId} taken by another invoice; retrying`);
      for (const id of billed) taken.add(id);
      const invoice = finalize(priced, n, now, customer.netTermsDays);
      // Same pricing and same adjustments as the stored draft: same lines.
      const linesUnchanged = input.storedPricing && invoice.lines.length === input.draft.lines.length;
      finalized.push({ ...invoice, sequenceNumber: n++, linesUnchanged });
      if (invoice.balanceApplied.gt(0)) {
        await moveBalance(tx, customer.customerId, invoice.balanceApplied.neg(), `applied:${invoice.id}`, now);
        customer.balance = customer.balance.minus(invoice.balanceApplied);
      }
    }
  }
  await markFinalized(tx, finalized);
  return { finalized, messages: finalized.map((i) => invoiceEvent("finalized", i, now)) };
}

/** Enqueues in the transaction; returns what to hand to the relay after commit. */
export async function enqueueAll(tx: PoolClient, messages: OutboxMessage[]) {
  return messages.length ? enqueue(tx, messages, { notify: false }) : undefined;
}

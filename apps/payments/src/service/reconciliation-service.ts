import { Violations, type Pool } from "@tally/platform";
import { Decimal, toWire } from "@tally/pricing";
import { attemptsOf } from "../adapter/attempt-store";
import { invoicesFinalizedIn } from "../adapter/invoice-store";
import { refundsOf } from "../adapter/refund-store";
import { CURRENCY } from "../domain/money";
import { reconcile, type ReconciliationResult } from "../domain/reconciliation";
import type { PaymentProvider } from "./payment-provider";

/**
 * Gathers both sides for the invoices of one currency finalized in [start, end): our invoices,
 * attempts and refunds, and what the provider holds for them (payments and refunds listed since
 * `start` and matched by their metadata). A payment the provider made since `start` for an
 * invoice we never saw is reported too (charged there, unknown here).
 */
export class ReconciliationService {
  constructor(private readonly deps: { pool: Pool; provider: PaymentProvider }) {}

  async reconcile(start: Date | undefined, end: Date | undefined, currency: string): Promise<ReconciliationResult> {
    const v = new Violations();
    if (!start) v.add("range.start", "is required");
    if (!end) v.add("range.end", "is required");
    if (start && end && end.getTime() <= start.getTime()) v.add("range.end", "must be after range.start");
    if (!CURRENCY.test(currency)) v.add("currency", `${JSON.stringify(currency)} is not an ISO 4217 code (three capital letters)`);
    v.throwIfAny();
    const invoices = await invoicesFinalizedIn(this.deps.pool, currency, start!, end!);
    const ids = invoices.map((i) => i.id);
    const known = new Set(ids);
    const [attempts, refunds, provider] = await Promise.all([attemptsOf(this.deps.pool, ids), refundsOf(this.deps.pool, ids), this.deps.provider.listSince(start!)]);
    const unknownInRange = new Set(provider.payments.filter((p) => !known.has(p.invoiceId)).map((p) => p.invoiceId));
    const localRefunded = new Map<string, string>();
    for (const r of refunds.filter((x) => x.status === "succeeded")) localRefunded.set(r.invoiceId, toWire(new Decimal(localRefunded.get(r.invoiceId) ?? 0).plus(r.amount)));
    const providerRefunded = new Map<string, string>();
    for (const r of provider.refunds.filter((x) => x.succeeded && known.has(x.invoiceId))) {
      providerRefunded.set(r.invoiceId, toWire(new Decimal(providerRefunded.get(r.invoiceId) ?? 0).plus(r.amount)));
    }
    return reconcile(
      { invoices: invoices.map((i) => ({ id: i.id, amountDue: i.amountDue, state: i.state })), attempts, refunded: localRefunded },
      {
        payments: provider.payments
          .filter((p) => (known.has(p.invoiceId) || unknownInRange.has(p.invoiceId)) && p.currency === currency)
          .map((p) => ({ id: p.id, attemptId: p.attemptId, invoiceId: p.invoiceId, succeeded: p.outcome === "succeeded", status: p.status, amount: p.amount, currency: p.currency })),
        refunded: providerRefunded,
      },
    );
  }
}

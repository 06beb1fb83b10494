import { Decimal, toWire } from "@tally/pricing";
import type { AttemptStatus } from "./attempt";

/**
 * Compares what payments recorded with what the provider holds, for the invoices of one
 * currency finalized in a range. Pure: the service gathers both sides, this decides.
 */
export type MismatchKind = "missing_in_tally" | "missing_in_provider" | "status_differs" | "amount_differs" | "currency_differs" | "duplicate_charge" | "refund_differs" | "voided_not_refunded";

export interface Mismatch {
  kind: MismatchKind;
  invoiceId: string;
  attemptId: string;
  providerPaymentId: string;
  tallyAmount: string;
  providerAmount: string;
}

export interface LocalSide {
  invoices: { id: string; amountDue: string; state: string }[];
  attempts: { id: string; invoiceId: string; status: AttemptStatus; amount: string; currency: string; providerPaymentId: string }[];
  /** Succeeded refunds per invoice. */
  refunded: Map<string, string>;
}

export interface ProviderPayment {
  id: string;
  attemptId: string;
  invoiceId: string;
  succeeded: boolean;
  status: string;
  amount: string;
  currency: string;
}

export interface ProviderSide {
  payments: ProviderPayment[];
  /** Refunded amount per invoice. */
  refunded: Map<string, string>;
}

export interface ReconciliationResult {
  invoicedTotal: string;
  collectedTotal: string;
  providerCollectedTotal: string;
  outstandingTotal: string;
  /** Succeeded refunds, here. */
  refundedTotal: string;
  /** Collected on invoices voided while their payment was in flight (each refunded in full). */
  voidedCollectedTotal: string;
  mismatches: Mismatch[];
}

export function reconcile(local: LocalSide, provider: ProviderSide): ReconciliationResult {
  const mismatches: Mismatch[] = [];
  const attempts = new Map(local.attempts.map((a) => [a.id, a]));
  const paymentsByAttempt = new Map(provider.payments.map((p) => [p.attemptId, p]));
  const add = (kind: MismatchKind, m: Partial<Mismatch>) =>
    mismatches.push({ kind, invoiceId: "", attemptId: "", providerPaymentId: "", tallyAmount: "", providerAmount: "", ...m });

  for (const p of provider.payments) {
    const a = attempts.get(p.attemptId);
    const ids = { invoiceId: p.invoiceId, attemptId: p.attemptId, providerPaymentId: p.id, providerAmount: p.amount };
    if (!a) {
      if (p.succeeded) add("missing_in_tally", ids);
      continue;
    }
    const tally = { ...ids, tallyAmount: a.amount };
    if ((a.status === "succeeded") !== p.succeeded) add("status_differs", tally);
    if (!new Decimal(a.amount).eq(p.amount)) add("amount_differs", tally);
    if (a.currency !== p.currency) add("currency_differs", tally);
  }
  for (const a of local.attempts) {
    if (a.status === "succeeded" && !paymentsByAttempt.has(a.id)) {
      add("missing_in_provider", { invoiceId: a.invoiceId, attemptId: a.id, providerPaymentId: a.providerPaymentId, tallyAmount: a.amount });
    }
  }
  const successes = new Map<string, ProviderPayment[]>();
  for (const p of provider.payments.filter((x) => x.succeeded)) successes.set(p.invoiceId, [...(successes.get(p.invoiceId) ?? []), p]);
  for (const [invoiceId, list] of successes) {
    if (list.length > 1) add("duplicate_charge", { invoiceId, providerPaymentId: list.map((p) => p.id).join(","), providerAmount: toWire(sum(list.map((p) => p.amount))) });
  }
  for (const invoiceId of new Set([...local.refunded.keys(), ...provider.refunded.keys()])) {
    const ours = new Decimal(local.refunded.get(invoiceId) ?? 0);
    const theirs = new Decimal(provider.refunded.get(invoiceId) ?? 0);
    if (!ours.eq(theirs)) add("refund_differs", { invoiceId, tallyAmount: toWire(ours), providerAmount: toWire(theirs) });
  }

  // Money taken on a voided invoice (its payment was in flight) must all go back.
  const voided = new Set(local.invoices.filter((i) => i.state === "void").map((i) => i.id));
  const succeeded = local.attempts.filter((a) => a.status === "succeeded");
  for (const invoiceId of voided) {
    const kept = sum(succeeded.filter((a) => a.invoiceId === invoiceId).map((a) => a.amount)).minus(local.refunded.get(invoiceId) ?? 0);
    if (kept.gt(0)) add("voided_not_refunded", { invoiceId, tallyAmount: toWire(kept), providerAmount: provider.refunded.get(invoiceId) ?? "0" });
  }

  const invoiced = sum(local.invoices.filter((i) => !voided.has(i.id)).map((i) => i.amountDue));
  const collected = sum(succeeded.map((a) => a.amount));
  const voidedCollected = sum(succeeded.filter((a) => voided.has(a.invoiceId)).map((a) => a.amount));
  return {
    invoicedTotal: toWire(invoiced),
    collectedTotal: toWire(collected),
    providerCollectedTotal: toWire(sum(provider.payments.filter((p) => p.succeeded).map((p) => p.amount))),
    outstandingTotal: toWire(invoiced.minus(collected.minus(voidedCollected))),
    refundedTotal: toWire(sum([...local.refunded.values()])),
    voidedCollectedTotal: toWire(voidedCollected),
    mismatches,
  };
}

function sum(amounts: string[]): Decimal {
  return amounts.reduce((total, a) => total.plus(a), new Decimal(0));
}

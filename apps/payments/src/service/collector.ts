import { enqueue, withTransaction, type Clock, type CommittedPublisher, type Logger, type OutboxMessage, type Pool, type PoolClient } from "@tally/platform";
import { Decimal } from "@tally/pricing";
import { clearRetries, finishAttempts, insertAttempts, lockPending, stalePending, touchAttempt, type NewAttempt } from "../adapter/attempt-store";
import { customersOf } from "../adapter/customer-store";
import { setInvoiceStates } from "../adapter/invoice-store";
import type { InvoiceState } from "../domain/invoice";
import { attemptId, attemptIdempotencyKey, canApply, NO_PAYMENT_METHOD, type AttemptOutcome, type PaymentAttempt } from "../domain/attempt";
import { nextRetryTime } from "../domain/dunning";
import { ProviderRejectedError, ProviderUnavailableError } from "../domain/errors";
import type { InvoiceCopy } from "../domain/invoice";
import { dunningExhaustedMessage, paymentOutcomeMessage } from "./events";
import type { PaymentProvider } from "./payment-provider";

export interface CollectorDeps {
  pool: Pool;
  clock: Clock;
  provider: PaymentProvider;
  outbox: CommittedPublisher;
  logger: Logger;
  /** Dunning: retry offsets in days from the first attempt. */
  scheduleDays: readonly number[];
  /** Provider calls in flight at once. */
  concurrency: number;
}

/**
 * Collects invoices exactly once. The order is what makes it safe:
 * 1. an attempt row (pending, with its idempotency key) commits before the provider is called;
 * 2. the provider is called with that key;
 * 3. the outcome (from the response, a webhook or a later replay — whichever comes first) moves
 *    the attempt out of pending once, in a transaction with the events it causes.
 * A crash or a lost answer between 2 and 3 leaves the attempt pending; `resolvePending` repeats
 * the same request with the same key, and the provider answers with the charge it made.
 */
export class Collector {
  constructor(private readonly deps: CollectorDeps) {}

  /** Attempt rows for these invoices, inserted in the caller's transaction (none where one is in flight). */
  async createAttempts(client: PoolClient, specs: { invoice: InvoiceCopy; attemptNumber: number; callerKey?: string }[]): Promise<PaymentAttempt[]> {
    const customers = await customersOf(client, [...new Set(specs.map((s) => s.invoice.customerId))]);
    const now = this.deps.clock.now();
    const rows: NewAttempt[] = specs.map(({ invoice, attemptNumber, callerKey }) => {
      const customer = customers.get(invoice.customerId);
      return {
        id: attemptId(invoice.id, attemptNumber),
        invoiceId: invoice.id,
        customerId: invoice.customerId,
        attemptNumber,
        amount: invoice.amountDue,
        currency: invoice.currency,
        status: "pending",
        idempotencyKey: attemptIdempotencyKey(invoice.id, attemptNumber),
        callerKey: callerKey ?? null,
        providerCustomerId: customer?.providerCustomerId ?? "",
        paymentMethod: customer?.defaultPaymentMethod ?? "",
        createTime: now,
      };
    });
    return insertAttempts(client, rows);
  }

  /** Calls the provider for committed pending attempts and records what it says. */
  async run(attempts: PaymentAttempt[]): Promise<void> {
    const outcomes = await mapLimited(attempts, this.deps.concurrency, (a) => this.ask(a));
    await this.applyOutcomes(outcomes.filter((o): o is AttemptOutcome => o !== undefined));
  }

  /** One provider call; undefined when the outcome is not known (the attempt stays pending). */
  private async ask(a: PaymentAttempt): Promise<AttemptOutcome | undefined> {
    if (!a.paymentMethod || !a.providerCustomerId) {
      return { attemptId: a.id, status: "failed", providerPaymentId: "", failureCode: NO_PAYMENT_METHOD, failureMessage: "the customer has no default payment method" };
    }
    try {
      const view = await this.deps.provider.charge({
        attemptId: a.id,
        invoiceId: a.invoiceId,
        customerId: a.customerId,
        providerCustomerId: a.providerCustomerId,
        paymentMethod: a.paymentMethod,
        amount: a.amount,
        currency: a.currency,
        idempotencyKey: a.idempotencyKey,
      });
      if (view.outcome === "pending") return undefined;
      return { attemptId: a.id, status: view.outcome, providerPaymentId: view.id, failureCode: view.failureCode, failureMessage: view.failureMessage };
    } catch (err) {
      if (err instanceof ProviderUnavailableError) {
        this.deps.logger.warn("payment outcome unknown; the attempt stays pending and is replayed with its key", { attemptId: a.id, reason: err.message });
        return undefined;
      }
      if (err instanceof ProviderRejectedError) {
        if (err.providerCode === "idempotency_error") return this.lookUp(a);
        return { attemptId: a.id, status: "failed", providerPaymentId: "", failureCode: err.providerCode, failureMessage: err.message };
      }
      throw err;
    }
  }

  /** The key no longer replays (expired): the provider's records by metadata decide. */
  private async lookUp(a: PaymentAttempt): Promise<AttemptOutcome | undefined> {
    const found = await this.deps.provider.findByAttempt(a.id);
    const done = found.find((p) => p.outcome === "succeeded") ?? found.find((p) => p.outcome !== "pending");
    if (!done) return undefined;
    return { attemptId: a.id, status: done.outcome as AttemptOutcome["status"], providerPaymentId: done.id, failureCode: done.failureCode, failureMessage: done.failureMessage };
  }

  /**
   * Moves attempts out of pending, once: an outcome for an attempt that already has one (a
   * late or duplicate webhook, a replay) changes nothing. Success pays the invoice and stops
   * dunning; failure schedules the next retry, or gives up when the schedule is exhausted.
   */
  async applyOutcomes(outcomes: AttemptOutcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    const { provider, clock, outbox } = this.deps;
    const queued = await withTransaction(this.deps.pool, async (client) => {
      const byId = new Map(outcomes.map((o) => [o.attemptId, o]));
      const locked = await lockPending(client, [...byId.keys()]);
      const open = locked.filter((a) => canApply(a.status));
      if (open.length === 0) return undefined;
      const now = clock.now();
      const invoices = await client.query<{ id: string; state: string; first: Date }>(
        `SELECT i.id, i.state, (SELECT min(create_time) FROM attempts WHERE invoice_id = i.id) AS first
         FROM invoices i WHERE i.id = ANY($1::text[]) ORDER BY i.id FOR UPDATE`,
        [open.map((a) => a.invoiceId)],
      );
      const invoiceOf = new Map(invoices.rows.map((r) => [r.id, r]));
      const messages: OutboxMessage[] = [];
      const paid: string[] = [];
      const finished: PaymentAttempt[] = [];
      const states: { id: string; state: InvoiceState; amountPaid: string | null }[] = [];
      for (const a of open) {
        const o = byId.get(a.id)!;
        const invoice = invoiceOf.get(a.invoiceId)!;
        const next = o.status === "failed" && invoice.state === "open" ? nextRetryTime(this.deps.scheduleDays, invoice.first, a.attemptNumber) : undefined;
        const done: PaymentAttempt = {
          ...a,
          status: o.status,
          providerPaymentId: o.providerPaymentId || a.providerPaymentId,
          failureCode: o.failureCode ?? "",
          failureMessage: o.failureMessage ?? "",
          nextRetryTime: next ?? null,
          updateTime: now,
        };
        finished.push(done);
        if (o.status === "canceled") continue;
        messages.push(paymentOutcomeMessage(done, provider.name, now));
        if (o.status === "succeeded") {
          paid.push(a.invoiceId);
          states.push({ id: a.invoiceId, state: "paid", amountPaid: new Decimal(a.amount).toFixed() });
          invoice.state = "paid";
        } else if (!next && invoice.state === "open") {
          states.push({ id: a.invoiceId, state: "uncollectible", amountPaid: null });
          invoice.state = "uncollectible";
          messages.push(dunningExhaustedMessage(done, provider.name, now));
        }
      }
      await finishAttempts(client, finished, now);
      await setInvoiceStates(client, states);
      if (paid.length > 0) await clearRetries(client, paid);
      return enqueue(client, messages, { notify: false });
    });
    if (queued) outbox.publishCommitted(queued);
  }

  /**
   * Attempts left pending (a crash between the provider call and the commit, a lost answer)
   * are asked again with the same request and key: the provider replays the outcome of the
   * charge it made, or makes the one that never reached it. Never a second charge.
   */
  async resolvePending(olderThanMs: number, limit = 500): Promise<number> {
    const now = this.deps.clock.now();
    const stale = await stalePending(this.deps.pool, new Date(now.getTime() - olderThanMs), limit);
    for (const a of stale) await touchAttempt(this.deps.pool, a.id, now);
    await this.run(stale);
    return stale.length;
  }
}

/** Runs `work` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await work(items[i]!);
  });
  await Promise.all(workers);
  return results;
}

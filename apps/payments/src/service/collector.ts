import { Batcher, currentTraceparent, enqueue, withTransaction, type Clock, type CommittedPublisher, type Logger, type OutboxMessage, type Pool, type PoolClient } from "@tally/platform";
import { Decimal } from "@tally/pricing";
import { clearRetries, finishAttempts, insertAttempts, lockUnsettled, stalePending, touchAttempt, type NewAttempt } from "../adapter/attempt-store";
import { customersOf } from "../adapter/customer-store";
import { setInvoiceStates, voidedInvoiceIds } from "../adapter/invoice-store";
import type { InvoiceState } from "../domain/invoice";
import { attemptId, attemptIdempotencyKey, canApply, INVOICE_VOIDED, NO_PAYMENT_METHOD, type AttemptOutcome, type PaymentAttempt } from "../domain/attempt";
import { nextRetryTime } from "../domain/dunning";
import { ProviderRejectedError, ProviderUnavailableError } from "../domain/errors";
import type { InvoiceCopy } from "../domain/invoice";
import { dunningExhaustedMessage, paymentOutcomeMessage } from "./events";
import type { PaymentProvider, ProviderPaymentView } from "./payment-provider";
import type { RefundService, SettledPayment } from "./refund-service";

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
  /** Refunds a recorded payment releases (waiting credit notes, a voided invoice's late payment). */
  refunds: Pick<RefundService, "settle" | "sendAll">;
  /** A request older than this has ended on our side (the provider client's timeout). */
  providerTimeoutMs: number;
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
  /** Outcomes of dispatched attempts, committed together as they arrive (one transaction per group). */
  private readonly outcomes: Batcher<AttemptOutcome, void>;
  /** Dispatched attempts at the provider (at most `concurrency`). */
  private atProvider = 0;
  /**
   * Dispatched attempts whose outcome is not committed yet (at most UNSETTLED_PER_SLOT ×
   * `concurrency`): a slot is freed as soon as the provider answers, so outcomes wait for their
   * group commit without holding provider calls back, and groups grow with load.
   */
  private unsettled = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly dispatched = new Set<Promise<void>>();

  constructor(private readonly deps: CollectorDeps) {
    this.outcomes = new Batcher(async (items) => {
      await this.applyOutcomes(items);
      return items.map(() => undefined);
    }, { maxItems: 500, maxInFlight: 2 });
  }

  /**
   * Starts collecting committed pending attempts and returns once each has a provider slot —
   * not when they finish: the consumer moves on to the next messages while these are at the
   * provider, and each outcome is committed as soon as it is known, grouped with whatever else
   * has arrived (no attempt waits for the slowest of its batch). Safe to acknowledge the events
   * once this returns: the attempts are durable, and any whose outcome is lost to a crash is
   * resolved by the sweep, as after any crash.
   */
  async dispatch(attempts: PaymentAttempt[]): Promise<void> {
    for (const a of attempts) {
      while (this.atProvider >= this.deps.concurrency || this.unsettled >= UNSETTLED_PER_SLOT * this.deps.concurrency) {
        await new Promise<void>((resolve) => this.waiters.push(resolve));
      }
      this.atProvider++;
      this.unsettled++;
      const work = this.ask(a)
        .finally(() => this.release(() => this.atProvider--))
        .then((o) => (o ? this.outcomes.submit([o]) : undefined))
        .then(
          () => undefined,
          (err: unknown) => this.deps.logger.warn("collection failed; the attempt stays pending for the sweep", { attemptId: a.id, err }),
        )
        .finally(() => {
          this.release(() => this.unsettled--);
          this.dispatched.delete(work);
        });
      this.dispatched.add(work);
    }
  }

  private release(free: () => void): void {
    free();
    // Every waiter re-checks both bounds; the ones that still do not fit wait again.
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Resolves once every dispatched attempt has its outcome committed (or was left to the sweep). */
  async idle(): Promise<void> {
    while (this.dispatched.size > 0) await Promise.all(this.dispatched);
  }

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
        traceparent: currentTraceparent() ?? null,
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
    return done && outcomeOf(a, done);
  }

  /**
   * Moves attempts out of pending, once: an outcome for an attempt that already has one (a
   * late or duplicate webhook, a replay) changes nothing. Success pays the invoice and stops
   * dunning; failure schedules the next retry, or gives up when the schedule is exhausted.
   * A voided invoice stays void: a payment that still succeeded on it is recorded and refunded
   * (RefundService.settle), one that failed or was canceled leaves nothing owed.
   */
  async applyOutcomes(outcomes: AttemptOutcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    const { provider, clock, outbox } = this.deps;
    const result = await withTransaction(this.deps.pool, async (client) => {
      const byId = new Map(outcomes.map((o) => [o.attemptId, o]));
      const locked = await lockUnsettled(client, [...byId.keys()]);
      const open = locked.filter((a) => canApply(a.status, byId.get(a.id)!.status));
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
      const settled: SettledPayment[] = [];
      for (const a of open) {
        const o = byId.get(a.id)!;
        const invoice = invoiceOf.get(a.invoiceId)!;
        const next = o.status === "failed" && invoice.state === "open" ? nextRetryTime(this.deps.scheduleDays, invoice.first, a.attemptNumber) : undefined;
        const done: PaymentAttempt = {
          ...a,
          status: o.status,
          providerPaymentId: o.providerPaymentId || a.providerPaymentId,
          failureCode: o.status === "succeeded" ? "" : (o.failureCode ?? ""),
          failureMessage: o.status === "succeeded" ? "" : (o.failureMessage ?? ""),
          nextRetryTime: next ?? null,
          updateTime: now,
        };
        finished.push(done);
        settled.push({ invoiceId: a.invoiceId, attemptId: a.id, succeeded: o.status === "succeeded", currency: a.currency, invoiceState: invoice.state === "void" ? "void" : "" });
        if (o.status === "canceled") continue;
        messages.push(inTraceOf(a, paymentOutcomeMessage(done, provider.name, now)));
        if (o.status === "succeeded") {
          const voided = invoice.state === "void";
          paid.push(a.invoiceId);
          states.push({ id: a.invoiceId, state: voided ? "void" : "paid", amountPaid: new Decimal(a.amount).toFixed() });
          if (!voided) invoice.state = "paid";
        } else if (!next && invoice.state === "open") {
          states.push({ id: a.invoiceId, state: "uncollectible", amountPaid: null });
          invoice.state = "uncollectible";
          messages.push(inTraceOf(a, dunningExhaustedMessage(done, provider.name, now)));
        }
      }
      await finishAttempts(client, finished, now);
      await setInvoiceStates(client, states);
      if (paid.length > 0) await clearRetries(client, paid);
      const refunds = await this.deps.refunds.settle(client, settled, now);
      return { queued: await enqueue(client, messages, { notify: false }), refunds };
    });
    if (!result) return;
    outbox.publishCommitted(result.queued);
    await this.deps.refunds.sendAll(result.refunds);
  }

  /**
   * Its invoice was voided while this attempt was in flight. What the provider holds decides:
   * a final outcome is recorded (a success is then refunded); a PaymentIntent still cancelable
   * (e.g. awaiting authentication) is canceled. With no trace at the provider the charge may
   * still be on its way, so the attempt stays pending — unless our request has certainly ended
   * (`presumeIfUnknown`), then it is canceled here. Never replayed: replaying would make the
   * charge a voided invoice no longer wants.
   */
  async stopInFlight(a: PaymentAttempt, presumeIfUnknown: boolean): Promise<void> {
    let found = await this.deps.provider.findByAttempt(a.id);
    const live = found.find((p) => p.outcome === "pending");
    if (live && !found.some((p) => p.outcome === "succeeded")) {
      try {
        found = [await this.deps.provider.cancel(live.id, `tally:cancel:${a.id}`)];
      } catch (err) {
        // It moved on meanwhile (succeeded, failed): read again and record what it became.
        if (!(err instanceof ProviderRejectedError)) throw err;
        found = await this.deps.provider.findByAttempt(a.id);
      }
    }
    const final = found.find((p) => p.outcome === "succeeded") ?? found.find((p) => p.outcome !== "pending");
    if (final) return this.applyOutcomes([outcomeOf(a, final)]);
    if (found.length === 0 && presumeIfUnknown) {
      this.deps.logger.info("voided invoice's attempt never reached the provider; canceled", { attemptId: a.id });
      await this.applyOutcomes([{ attemptId: a.id, status: "canceled", providerPaymentId: "", failureCode: INVOICE_VOIDED, failureMessage: "the invoice was voided before the charge was made" }]);
    }
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
    const voided = await voidedInvoiceIds(this.deps.pool, stale.map((a) => a.invoiceId));
    for (const a of stale.filter((x) => voided.has(x.invoiceId))) {
      await this.stopInFlight(a, now.getTime() - a.createTime.getTime() > this.deps.providerTimeoutMs);
    }
    await this.run(stale.filter((a) => !voided.has(a.invoiceId)));
    return stale.length;
  }
}

function outcomeOf(a: PaymentAttempt, p: ProviderPaymentView): AttemptOutcome {
  return { attemptId: a.id, status: p.outcome as AttemptOutcome["status"], providerPaymentId: p.id, failureCode: p.failureCode, failureMessage: p.failureMessage };
}

/** Outcomes that may wait for their commit per provider slot (bounds memory under overload). */
const UNSETTLED_PER_SLOT = 8;

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

/** A group commit runs in one trace; each outcome's events continue their own attempt's. */
function inTraceOf(a: PaymentAttempt, message: OutboxMessage): OutboxMessage {
  return a.traceparent ? { ...message, traceparent: a.traceparent } : message;
}

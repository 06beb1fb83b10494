import { Code, ConnectError } from "@connectrpc/connect";
import { withTransaction, type ServiceDeps } from "@tally/platform";
import { Decimal } from "@tally/pricing";
import { getCustomers } from "../adapter/customer-store";
import type { CreditBurns } from "../adapter/credit-ledger";
import { claimDrafts, claimIssuedStale, clearStale, insertDrafts, lastIssuedLocked, markDraftsStale, updateDraftAmounts } from "../adapter/invoice-store";
import { adjustmentsFor, adjustmentsFrom, insertAdjustments } from "../adapter/late-adjustment-store";
import type { PeriodPricer, PeriodRef } from "../adapter/rating-source";
import { claimDue, claimEndedWithPendingAdjustments, scheduleNext, type NextClose } from "../adapter/subscription-store";
import { adjustmentsOnlyPeriod, isAdjustmentsOnly, newDraft, priceInvoice } from "../domain/build-invoice";
import { newId } from "../domain/ids";
import { lateCredit, lateDifferences } from "../domain/late-usage";
import type { Invoice, Period, PricedPeriod } from "../domain/types";
import { enqueueAll, finalizeDrafts } from "./finalizer";

export interface CycleResult {
  asOf: Date;
  draftsCreated: number;
  invoicesFinalized: number;
  periodsDeferred: number;
  closedPeriods: Period[];
}

/** How long a period that cannot be closed yet (no profile, currency mismatch, rating refused) waits. */
const RETRY_MS = 60_000;

/** Batches of one step run concurrently within a cycle. */
const WORKERS = 3;

/**
 * The billing cycle, run on a timer and by RunBillingCycle / AdvanceClock: close every period that
 * has ended into one DRAFT, record usage rating priced for already finalized periods as pending
 * adjustments (billed on the next invoice), rebuild drafts that rating re-rated (late usage) or
 * that have new adjustments, finalize drafts whose grace is over. Each batch is one transaction over rows locked with SKIP LOCKED, so instances and
 * manual triggers share the work; the unique (subscription, period) key makes a second draft for a
 * period impossible whatever happens. Rating unreachable: the transaction rolls back and the next
 * cycle tries again — nothing is half-written.
 */
export class BillingCycle {
  constructor(
    private readonly deps: Pick<ServiceDeps, "pool" | "clock" | "logger" | "outbox">,
    private readonly pricer: PeriodPricer | undefined,
    private readonly credits: CreditBurns,
    private readonly batchSize: number,
  ) {}

  async run(): Promise<CycleResult> {
    const now = this.deps.clock.now();
    const result: CycleResult = { asOf: now, draftsCreated: 0, invoicesFinalized: 0, periodsDeferred: 0, closedPeriods: [] };
    if (!this.pricer) return result;
    // A few batches in flight at once: SKIP LOCKED hands each its own rows, and one batch's
    // Postgres round trips overlap another's work.
    const parallel = async (step: () => Promise<boolean>) => {
      // Every worker finishes before the cycle answers, even when one fails (none keeps running).
      const outcomes = await Promise.allSettled(
        Array.from({ length: WORKERS }, async () => {
          while (await step());
        }),
      );
      const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
      if (failed) throw failed.reason;
    };
    await parallel(() => this.closeBatch(now, result));
    await parallel(() => this.lateBatch(now));
    await parallel(() => this.finalAdjustmentsBatch(now, result));
    await parallel(() => this.refreshBatch(now));
    await parallel(() => this.finalizeBatch(now, result));
    return result;
  }

  /** One batch of ended periods → drafts. False when nothing was left to claim. */
  private async closeBatch(now: Date, result: CycleResult): Promise<boolean> {
    return withTransaction(this.deps.pool, async (tx) => {
      const claimed = await claimDue(tx, now, this.batchSize);
      if (claimed.length === 0) return false;
      // Canceled at the end of the period last closed (learned after that close): nothing left to
      // bill but late adjustments, which a final adjustments invoice takes.
      const over = claimed.filter((d) => d.cancelTime !== null && d.nextPeriodAt.getTime() >= d.cancelTime.getTime());
      const due = claimed.filter((d) => !over.includes(d));
      const next: NextClose[] = over.map((d) => ({ subscriptionId: d.subscriptionId, nextPeriodAt: null, nextCloseAt: now }));
      const priced = await this.priceEach(due.map((d) => ({ subscriptionId: d.subscriptionId, at: d.nextPeriodAt })));
      const customers = await getCustomers(
        tx,
        due.map((d) => d.customerId),
      );
      const pending = await adjustmentsFor(
        tx,
        due.map((d) => ({ id: "", subscriptionId: d.subscriptionId })),
      );
      const drafts: Invoice[] = [];
      const retry = (subscriptionId: string, at: Date) => {
        result.periodsDeferred++;
        next.push({ subscriptionId, nextPeriodAt: at, nextCloseAt: new Date(now.getTime() + RETRY_MS) });
      };
      for (const [n, d] of due.entries()) {
        const p = priced[n]!;
        if (p instanceof Error) {
          this.deps.logger.warn("period not priced; retrying later", { subscriptionId: d.subscriptionId, err: p });
          retry(d.subscriptionId, d.nextPeriodAt);
          continue;
        }
        if (p.period.end.getTime() <= d.nextPeriodAt.getTime()) {
          // Rating answered a period that does not contain the instant asked about: never loop on it.
          this.deps.logger.error("rating priced a period ending before the one asked for; retrying later", { subscriptionId: d.subscriptionId, at: d.nextPeriodAt });
          retry(d.subscriptionId, d.nextPeriodAt);
          continue;
        }
        if (p.period.end.getTime() > now.getTime()) {
          // Still open: look again when it ends.
          next.push({ subscriptionId: d.subscriptionId, nextPeriodAt: d.nextPeriodAt, nextCloseAt: p.period.end });
          continue;
        }
        const customer = customers.get(d.customerId);
        if (!customer || customer.currency !== p.currency) {
          this.deps.logger.warn(customer ? "plan currency differs from the billing profile's" : "no billing profile; period not invoiced yet", {
            subscriptionId: d.subscriptionId,
            customerId: d.customerId,
            currency: p.currency,
          });
          retry(d.subscriptionId, d.nextPeriodAt);
          continue;
        }
        const creditsBurned = await this.credits.burned(d.customerId, d.subscriptionId, p.period.start);
        drafts.push(newDraft(newId("inv"), now, { priced: p, customer, creditsBurned, balanceAvailable: new Decimal(0), adjustments: pending.get(d.subscriptionId) ?? [] }));
        const ended = d.cancelTime !== null && p.period.end.getTime() >= d.cancelTime.getTime();
        next.push({ subscriptionId: d.subscriptionId, nextPeriodAt: ended ? null : p.period.end, nextCloseAt: p.period.end });
      }
      const inserted = await insertDrafts(tx, drafts);
      for (const draft of drafts.filter((x) => inserted.has(x.id))) {
        result.draftsCreated++;
        result.closedPeriods.push(draft.period);
      }
      await scheduleNext(tx, next);
      return true;
    });
  }

  /**
   * Issued invoices whose period rating re-rated after finalization → the difference recorded as
   * pending adjustments (under the invoice's row lock, against what it and earlier adjustments
   * billed, so each late event is recorded once); the subscription's open draft is rebuilt to show it.
   */
  private async lateBatch(now: Date): Promise<boolean> {
    return withTransaction(this.deps.pool, async (tx) => {
      const issued = await claimIssuedStale(tx, this.batchSize);
      if (issued.length === 0) return false;
      const priced = await this.pricer!.price(issued.map((i) => ({ subscriptionId: i.subscriptionId, at: i.period.start })));
      const earlier = await adjustmentsFrom(
        tx,
        issued.map((i) => i.id),
      );
      const recorded = issued.flatMap((i, n) => lateDifferences(i, priced[n]!, earlier.get(i.id) ?? [], now, () => newId("adj")));
      // The late usage burned credit too (limits burns what rating rates, whenever it comes):
      // what the ledger has now for the period beyond what the invoice took goes to the next invoice.
      for (const i of issued) {
        if (isAdjustmentsOnly(i)) continue;
        const burned = await this.credits.burned(i.customerId, i.subscriptionId, i.period.start);
        recorded.push(...lateCredit(i, burned, earlier.get(i.id) ?? [], now, () => newId("adj")));
      }
      await insertAdjustments(tx, recorded);
      await markDraftsStale(tx, [...new Set(recorded.map((a) => a.subscriptionId))]);
      await clearStale(
        tx,
        issued.map((i) => i.id),
      );
      return true;
    });
  }

  /**
   * Canceled subscriptions with pending adjustments and no draft to take them → a final
   * adjustments invoice each (see adjustmentsOnlyPeriod), open for the customer's grace like any
   * draft (later adjustments join it), then finalized and numbered by the usual step.
   */
  private async finalAdjustmentsBatch(now: Date, result: CycleResult): Promise<boolean> {
    return withTransaction(this.deps.pool, async (tx) => {
      const ended = await claimEndedWithPendingAdjustments(tx, this.batchSize);
      if (ended.length === 0) return false;
      const customers = await getCustomers(
        tx,
        ended.map((e) => e.customerId),
      );
      const pending = await adjustmentsFor(
        tx,
        ended.map((e) => ({ id: "", subscriptionId: e.subscriptionId })),
      );
      const drafts: Invoice[] = [];
      for (const e of ended) {
        const customer = customers.get(e.customerId);
        if (!customer) continue; // adjustments come from its invoices: the profile exists
        // After every earlier invoice of the subscription (one voided at this very instant included).
        const at = new Date(Math.max(now.getTime(), (e.lastPeriodStart?.getTime() ?? 0) + 1));
        const priced = adjustmentsOnlyPeriod(e.subscriptionId, e.customerId, customer.currency, at);
        drafts.push(newDraft(newId("inv"), now, { priced, customer, creditsBurned: new Decimal(0), balanceAvailable: new Decimal(0), adjustments: pending.get(e.subscriptionId) ?? [] }));
      }
      const inserted = (await insertDrafts(tx, drafts)).size;
      result.draftsCreated += inserted;
      return inserted > 0;
    });
  }

  /** Drafts rating re-rated since they were built (late usage inside grace) or with new adjustments → rebuilt. */
  private async refreshBatch(now: Date): Promise<boolean> {
    return withTransaction(this.deps.pool, async (tx) => {
      const drafts = await claimDrafts(tx, "stale", now, this.batchSize);
      if (drafts.length === 0) return false;
      const inputs = await this.reprice(tx, drafts, false);
      const customers = await getCustomers(
        tx,
        drafts.map((d) => d.customerId),
      );
      for (const i of inputs) {
        const customer = customers.get(i.draft.customerId)!;
        await updateDraftAmounts(tx, priceInvoice(i.draft, { ...i, customer, balanceAvailable: new Decimal(0) }));
      }
      return true;
    });
  }

  /** Drafts whose grace period is over → FINALIZED with their numbers; publishes InvoiceFinalized. */
  private async finalizeBatch(now: Date, result: CycleResult): Promise<boolean> {
    const outcome = await withTransaction(this.deps.pool, async (tx) => {
      const drafts = await claimDrafts(tx, "due", now, this.batchSize);
      if (drafts.length === 0) return undefined;
      await this.catchUpLateCredits(tx, drafts, now);
      const { finalized, messages } = await finalizeDrafts(tx, await this.reprice(tx, drafts, true), now);
      return { count: finalized.length, queued: await enqueueAll(tx, messages) };
    });
    if (!outcome) return false;
    if (outcome.queued) this.deps.outbox.publishCommitted(outcome.queued);
    result.invoicesFinalized += outcome.count;
    return true;
  }

  /**
   * Limits burns for late usage when it consumes rating's running amount, which may be after
   * lateBatch read the ledger for the same late usage: before a subscription's next invoice is
   * finalized, credit burned for its previous period since that invoice was issued and not yet
   * recorded is recorded, so this invoice takes it (reprice reads the pending adjustments after).
   */
  private async catchUpLateCredits(tx: Parameters<typeof adjustmentsFor>[0], drafts: Invoice[], now: Date): Promise<void> {
    const issued = await lastIssuedLocked(tx, [...new Set(drafts.map((d) => d.subscriptionId))]);
    if (issued.length === 0) return;
    const earlier = await adjustmentsFrom(
      tx,
      issued.map((i) => i.id),
    );
    const recorded = [];
    for (const i of issued) {
      const burned = await this.credits.burned(i.customerId, i.subscriptionId, i.period.start);
      recorded.push(...lateCredit(i, burned, earlier.get(i.id) ?? [], now, () => newId("adj")));
    }
    await insertAdjustments(tx, recorded);
  }

  /**
   * Drafts' periods priced again by rating, with their credits, for a rebuild or finalization; a
   * final adjustments invoice has nothing to price. `keepFresh`: a draft that is not stale keeps
   * the pricing it holds — rating re-rating its period would have marked it (see markStale) — so
   * only stale ones cost a rating call.
   */
  async reprice(tx: Parameters<typeof adjustmentsFor>[0], drafts: (Invoice & { stale?: boolean })[], keepFresh: boolean) {
    const stored = (d: Invoice & { stale?: boolean }) => isAdjustmentsOnly(d) || (keepFresh && d.stale === false);
    const periodDrafts = drafts.filter((d) => !stored(d));
    const pricedPeriods = await this.pricer!.price(periodDrafts.map((d) => ({ subscriptionId: d.subscriptionId, at: d.period.start })));
    const byId = new Map(periodDrafts.map((d, n) => [d.id, pricedPeriods[n]!]));
    const priced = drafts.map((d) => byId.get(d.id) ?? (isAdjustmentsOnly(d) ? adjustmentsOnlyPeriod(d.subscriptionId, d.customerId, d.currency, d.period.start) : pricingOf(d)));
    const adjustments = await adjustmentsFor(tx, drafts);
    const out = [];
    for (const [n, draft] of drafts.entries()) {
      out.push({
        draft,
        priced: priced[n]!,
        storedPricing: stored(draft),
        creditsBurned: isAdjustmentsOnly(draft) ? new Decimal(0) : await this.credits.burned(draft.customerId, draft.subscriptionId, draft.period.start),
        adjustments: adjustments.get(draft.subscriptionId) ?? [],
      });
    }
    return out;
  }

  /**
   * Prices a batch in one call; if rating refuses the batch (e.g. one unknown subscription), each
   * alone, so one bad period does not hold up the rest. Rating unreachable: throws (retry later).
   */
  private async priceEach(refs: PeriodRef[]): Promise<(PricedPeriod | Error)[]> {
    try {
      return await this.pricer!.price(refs);
    } catch (err) {
      if (transient(err)) throw err;
      if (refs.length === 1) return [ConnectError.from(err)];
    }
    const out: (PricedPeriod | Error)[] = [];
    for (const ref of refs) out.push(...(await this.priceEach([ref])));
    return out;
  }
}

function transient(err: unknown): boolean {
  const code = ConnectError.from(err).code;
  return code === Code.Unavailable || code === Code.DeadlineExceeded || code === Code.Unknown || code === Code.Internal || code === Code.ResourceExhausted;
}

/** What a draft holds of rating's pricing: its lines without the late adjustments it bills. */
function pricingOf(d: Invoice): PricedPeriod {
  return {
    subscriptionId: d.subscriptionId,
    customerId: d.customerId,
    currency: d.currency,
    period: d.period,
    nominalPeriod: d.nominalPeriod,
    segments: d.segments,
    lines: d.lines.filter((l) => l.kind !== "late_usage_adjustment").map(({ roundedAmount: _rounded, ...line }) => line),
  };
}

import { fromBinary } from "@bufbuild/protobuf";
import { allSubjectsOf, payments, SUBJECTS } from "@tally/contracts";
import { withTransaction, type Clock, type Logger, type Pool, type ReceivedEvent } from "@tally/platform";
import * as collection from "../adapter/invoice-collection-store";

/** Payments' subjects: limits' second consumer; only dunning.exhausted and payment.succeeded are used. */
export const PAYMENTS_SUBJECTS = allSubjectsOf("payments");

/**
 * Blocks a customer's usage while an invoice of theirs is uncollectible and unpaid, if the
 * customer (or, without their own setting, the service) says so. Limits keeps its own record of
 * invoices from payments' events — DunningExhausted marks one uncollectible, PaymentSucceeded
 * paid — and Check asks `blocks()`, a set lookup, so the Check path stays one statement.
 *
 * The set is a per-instance copy of what Postgres says: re-read after every change this instance
 * makes and every `REFRESH_INTERVAL_MS`, so another instance's change shows within that bound
 * (the same kind of bound as plain Checks' positions, see PositionCache).
 */
export class UncollectibleBlocks {
  private blocked = new Set<string>();

  constructor(
    private readonly pool: Pool,
    private readonly clock: Clock,
    private readonly byDefault: boolean,
    private readonly logger: Logger,
  ) {}

  blocks(customerId: string): boolean {
    return this.blocked.has(customerId);
  }

  async refresh(): Promise<void> {
    this.blocked = new Set(await collection.blockedCustomers(this.pool, this.byDefault));
  }

  /** Consumer of payments' events; idempotent (a repeated or late event leaves a paid invoice paid). */
  async handle(messages: readonly ReceivedEvent[]): Promise<void> {
    const now = this.clock.now();
    let changed = false;
    await withTransaction(this.pool, async (client) => {
      for (const m of messages) {
        if (m.subject === SUBJECTS.payments.dunningExhausted) {
          const e = fromBinary(payments.DunningExhaustedSchema, m.data);
          if (!e.invoiceId || !e.customerId) continue;
          await collection.markUncollectible(client, e.invoiceId, e.customerId, now);
          this.logger.info("invoice uncollectible", { invoiceId: e.invoiceId, customerId: e.customerId });
          changed = true;
        } else if (m.subject === SUBJECTS.payments.paymentSucceeded) {
          const a = fromBinary(payments.PaymentSucceededSchema, m.data).attempt;
          if (!a?.invoiceId || !a.customerId) continue;
          await collection.markPaid(client, a.invoiceId, a.customerId, now);
          changed = true;
        }
      }
    });
    if (changed) await this.refresh();
  }

  async setBlocking(customerId: string, block: boolean): Promise<void> {
    await collection.setBlockOnUncollectible(this.pool, customerId, block);
    await this.refresh();
  }

  /** The customer's effective setting and what would block them. */
  async billing(customerId: string): Promise<{ blockOnUncollectible: boolean; uncollectibleInvoiceIds: string[] }> {
    const [own, invoices] = await Promise.all([collection.blockOnUncollectible(this.pool, customerId), collection.uncollectibleInvoices(this.pool, customerId)]);
    return { blockOnUncollectible: own ?? this.byDefault, uncollectibleInvoiceIds: invoices };
  }
}

/** How often each instance re-reads the blocked customers (the staleness bound across instances). */
export const REFRESH_INTERVAL_MS = 100;

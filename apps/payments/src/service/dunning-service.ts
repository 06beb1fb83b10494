import { withTransaction, type Clock, type Pool } from "@tally/platform";
import { claimDueRetries } from "../adapter/attempt-store";
import { getInvoice } from "../adapter/invoice-store";
import type { PaymentAttempt } from "../domain/attempt";
import type { InvoiceCopy } from "../domain/invoice";
import type { Collector } from "./collector";

/**
 * Runs the retries that are due by the service clock: each claims its failed attempt (clearing
 * its schedule) and inserts the next attempt in one transaction, so two instances never both
 * retry, and every retry is a new attempt with its own idempotency key.
 */
export class DunningService {
  constructor(private readonly deps: { pool: Pool; clock: Clock; collector: Collector }) {}

  async runDue(limit = 500): Promise<number> {
    const attempts = await withTransaction(this.deps.pool, async (client) => {
      const due = await claimDueRetries(client, this.deps.clock.now(), limit);
      const specs: { invoice: InvoiceCopy; attemptNumber: number }[] = [];
      for (const failed of due) {
        const invoice = await getInvoice(client, failed.invoiceId);
        if (invoice) specs.push({ invoice, attemptNumber: failed.attemptNumber + 1 });
      }
      return specs.length > 0 ? this.deps.collector.createAttempts(client, specs) : ([] as PaymentAttempt[]);
    });
    await this.deps.collector.run(attempts);
    return attempts.length;
  }
}

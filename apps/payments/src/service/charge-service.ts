import { InvalidArgumentError, Violations, withTransaction, type Pool } from "@tally/platform";
import { byCallerKey, clearRetries, getAttempt, listAttempts } from "../adapter/attempt-store";
import { customersOf, saveCustomer, type CustomerMapping } from "../adapter/customer-store";
import { getInvoice } from "../adapter/invoice-store";
import type { PaymentAttempt } from "../domain/attempt";
import { checkId, validateChargeInput } from "../domain/charge-input";
import { AttemptNotFoundError, AttemptPendingError, IdempotencyKeyReusedError, InvoiceNotChargeableError, InvoiceNotFoundError } from "../domain/errors";
import { isChargeable } from "../domain/invoice";
import type { Collector } from "./collector";
import { decodePage, encodePage } from "./paging";
import type { PaymentProvider } from "./payment-provider";

/** ChargeInvoice (a manual retry), attempts read back, and the customer ↔ provider mapping. */
export class ChargeService {
  constructor(private readonly deps: { pool: Pool; collector: Collector; provider: PaymentProvider }) {}

  async charge(input: { invoiceId: string; idempotencyKey: string }): Promise<PaymentAttempt> {
    validateChargeInput(input);
    const started = await withTransaction(this.deps.pool, async (client) => {
      const invoice = await getInvoice(client, input.invoiceId, true);
      const earlier = await byCallerKey(client, input.idempotencyKey);
      if (earlier) {
        if (earlier.invoiceId !== input.invoiceId) throw new IdempotencyKeyReusedError(input.idempotencyKey, earlier.invoiceId);
        return { attempt: earlier, fresh: false };
      }
      if (!invoice) throw new InvoiceNotFoundError(input.invoiceId);
      if (!isChargeable(invoice.state)) throw new InvoiceNotChargeableError(invoice.id, invoice.state);
      const { rows } = await client.query<{ id: string; status: string; n: number }>(
        `SELECT id, status, attempt_number AS n FROM attempts WHERE invoice_id = $1 ORDER BY attempt_number DESC`,
        [invoice.id],
      );
      const pending = rows.find((r) => r.status === "pending");
      if (pending) throw new AttemptPendingError(invoice.id, pending.id);
      await clearRetries(client, [invoice.id]); // this attempt replaces the scheduled retry
      const [attempt] = await this.deps.collector.createAttempts(client, [{ invoice, attemptNumber: (rows[0]?.n ?? 0) + 1, callerKey: input.idempotencyKey }]);
      return { attempt: attempt!, fresh: true };
    });
    if (started.fresh) await this.deps.collector.run([started.attempt]);
    return (await getAttempt(this.deps.pool, started.attempt.id))!;
  }

  async get(id: string): Promise<PaymentAttempt> {
    const v = new Violations();
    checkId(v, "payment_attempt_id", id);
    v.throwIfAny();
    const attempt = await getAttempt(this.deps.pool, id);
    if (!attempt) throw new AttemptNotFoundError(id);
    return attempt;
  }

  async list(filter: { invoiceId: string; customerId: string; pageSize: number; pageToken: string }): Promise<{ attempts: PaymentAttempt[]; nextPageToken: string }> {
    const { limit, before } = decodePage(filter.pageSize, filter.pageToken);
    const rows = await listAttempts(this.deps.pool, { invoiceId: filter.invoiceId, customerId: filter.customerId, beforeSeq: before, limit: limit + 1 });
    const page = rows.slice(0, limit);
    return { attempts: page, nextPageToken: rows.length > limit ? encodePage(page.at(-1)!.seq) : "" };
  }

  /** Creates the provider customer on first use (idempotently), attaches the method, makes it the default. */
  async setDefaultPaymentMethod(customerId: string, paymentMethod: string): Promise<CustomerMapping> {
    const v = new Violations();
    checkId(v, "customer_id", customerId);
    checkId(v, "payment_method", paymentMethod);
    v.throwIfAny();
    const known = (await customersOf(this.deps.pool, [customerId])).get(customerId);
    const providerCustomerId = known?.providerCustomerId ?? (await this.deps.provider.ensureCustomer(customerId));
    if (!known) await saveCustomer(this.deps.pool, { customerId, providerCustomerId, defaultPaymentMethod: "" });
    const attached = await this.deps.provider.setDefaultPaymentMethod(providerCustomerId, paymentMethod).catch((err: unknown) => {
      if (err instanceof Error && err.name === "ProviderRejectedError") throw new InvalidArgumentError({ field: "payment_method", message: err.message });
      throw err;
    });
    const mapping = { customerId, providerCustomerId, defaultPaymentMethod: attached };
    await saveCustomer(this.deps.pool, mapping);
    return mapping;
  }
}

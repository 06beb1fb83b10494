import { fromBinary } from "@bufbuild/protobuf";
import { payments, SUBJECTS } from "@tally/contracts";
import { enqueue, withTransaction, type OutboxMessage, type PoolClient, type ReceivedEvent, type ServiceDeps } from "@tally/platform";
import { Decimal } from "@tally/pricing";
import { getInvoice, markEventApplied, setStatus } from "../adapter/invoice-store";
import { applyPayment, markUncollectible } from "../domain/lifecycle";
import { invoiceEvent } from "./events";

/**
 * Payments' events → invoice states: PaymentSucceeded → PAID (publishes InvoicePaid),
 * DunningExhausted → UNCOLLECTIBLE (publishes InvoiceMarkedUncollectible), RefundSucceeded →
 * amount refunded. Each event applies once (its meta.id is recorded in the same transaction);
 * one that no longer fits the invoice's state (a payment on a VOID invoice) is logged and dropped,
 * never retried forever.
 */
export class PaymentFeed {
  constructor(private readonly deps: Pick<ServiceDeps, "pool" | "clock" | "logger" | "outbox">) {}

  async handle(msgs: ReceivedEvent[]): Promise<void> {
    const now = this.deps.clock.now();
    const queued = await withTransaction(this.deps.pool, async (tx) => {
      const out: OutboxMessage[] = [];
      for (const m of msgs) out.push(...(await this.apply(tx, m, now)));
      return out.length ? enqueue(tx, out, { notify: false }) : undefined;
    });
    if (queued) this.deps.outbox.publishCommitted(queued);
  }

  private async apply(tx: PoolClient, m: ReceivedEvent, now: Date): Promise<OutboxMessage[]> {
    const subject = m.subject;
    const decoded = decode(subject, m.data);
    if (!decoded || !(await markEventApplied(tx, decoded.eventId))) return [];
    const invoice = await getInvoice(tx, decoded.invoiceId, true);
    if (!invoice) {
      this.deps.logger.warn("payments event for an unknown invoice", { invoiceId: decoded.invoiceId, subject });
      return [];
    }
    if (decoded.kind === "refunded") {
      await setStatus(tx, { ...invoice, amountRefunded: invoice.amountRefunded.plus(decoded.amount) });
      return [];
    }
    try {
      const next = decoded.kind === "paid" ? applyPayment(invoice, decoded.amount, now) : markUncollectible(invoice);
      if (next === invoice) return [];
      await setStatus(tx, next);
      if (next.status === invoice.status) return [];
      return [invoiceEvent(next.status === "paid" ? "paid" : "uncollectible", next, now)];
    } catch (err) {
      this.deps.logger.warn("payments event does not fit the invoice's state; ignored", { invoiceId: invoice.id, status: invoice.status, subject, err });
      return [];
    }
  }
}

type Decoded = { eventId: string; invoiceId: string; kind: "paid" | "uncollectible" | "refunded"; amount: Decimal };

function decode(subject: string, data: Uint8Array): Decoded | undefined {
  if (subject === SUBJECTS.payments.paymentSucceeded) {
    const e = fromBinary(payments.PaymentSucceededSchema, data);
    return { eventId: e.meta?.id ?? "", invoiceId: e.attempt?.invoiceId ?? "", kind: "paid", amount: new Decimal(e.attempt?.amount?.amount || "0") };
  }
  if (subject === SUBJECTS.payments.dunningExhausted) {
    const e = fromBinary(payments.DunningExhaustedSchema, data);
    return { eventId: e.meta?.id ?? "", invoiceId: e.invoiceId, kind: "uncollectible", amount: new Decimal(0) };
  }
  if (subject === SUBJECTS.payments.refundSucceeded) {
    const e = fromBinary(payments.RefundSucceededSchema, data);
    return { eventId: e.meta?.id ?? "", invoiceId: e.invoiceId, kind: "refunded", amount: new Decimal(e.amount?.amount || "0") };
  }
  return undefined;
}

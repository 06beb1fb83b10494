import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type Stripe from "stripe";
import type { Clock, Logger, Pool } from "@tally/platform";
import { METADATA, paymentView, refundView } from "../adapter/stripe-provider";
import type { Collector } from "./collector";
import type { RefundService } from "./refund-service";

const MAX_BODY = 1 << 20;
export const WEBHOOK_PATH = "/stripe/webhooks";

/**
 * Stripe's webhooks on their own port. The raw body is verified with the client library
 * (`constructEvent`, signature and age within the tolerance); a bad or stale one is a 400 and
 * nothing is stored. A good one is stored once by event id and answered 200 at once; processing
 * happens afterwards (and again at start for anything stored but not processed). Outcomes go
 * through the same once-only transition as responses, so late, repeated or reordered events
 * never move an attempt backwards.
 */
export class WebhookReceiver {
  private server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  private processing: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly deps: { pool: Pool; clock: Clock; logger: Logger; stripe: Stripe; secret: string; toleranceSeconds: number; collector: Collector; refunds: RefundService },
  ) {}

  async listen(address: string): Promise<string> {
    const [host, port] = splitAddress(address);
    this.server = http.createServer((req, res) => void this.receive(req, res));
    this.server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(port, host, resolve));
    const a = this.server.address() as AddressInfo;
    this.kick();
    return `${a.address}:${a.port}`;
  }

  async close(): Promise<void> {
    if (this.server) {
      const server = this.server;
      this.server = undefined;
      for (const s of this.sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await this.idle();
  }

  /** Resolves once everything received so far is processed. */
  async idle(): Promise<void> {
    while (this.processing) await this.processing;
  }

  private async receive(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const reply = (status: number, body: object): void => void res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (req.method !== "POST" || req.url !== WEBHOOK_PATH) return reply(404, { error: "not found" });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY) return reply(413, { error: "payload too large" });
      chunks.push(chunk);
    }
    const raw = Buffer.concat(chunks);
    let event: Stripe.Event;
    try {
      const { stripe, secret, toleranceSeconds, clock } = this.deps;
      event = stripe.webhooks.constructEvent(raw, String(req.headers["stripe-signature"] ?? ""), secret, toleranceSeconds, undefined, clock.now().getTime());
    } catch (err) {
      this.deps.logger.warn("webhook rejected", { reason: err instanceof Error ? err.message : String(err) });
      return reply(400, { error: "invalid signature" });
    }
    try {
      await this.deps.pool.query(
        `INSERT INTO webhook_events (id, type, payload, received_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`,
        [event.id, event.type, raw.toString("utf8"), this.deps.clock.now()],
      );
    } catch (err) {
      this.deps.logger.error("webhook not stored; the provider will retry", { err });
      return reply(503, { error: "unavailable" });
    }
    reply(200, { received: true });
    this.kick();
  }

  /** Processes stored events in the background, one pass at a time. */
  kick(): void {
    if (this.processing) {
      this.again = true;
      return;
    }
    this.processing = (async () => {
      do {
        this.again = false;
        try {
          while ((await this.processBatch()) > 0);
        } catch (err) {
          this.deps.logger.warn("webhook processing failed; retried on the next event or sweep", { err });
        }
      } while (this.again);
    })().finally(() => (this.processing = undefined));
  }

  private async processBatch(): Promise<number> {
    const { rows } = await this.deps.pool.query<{ id: string; payload: Stripe.Event }>(
      `SELECT id, payload FROM webhook_events WHERE processed_at IS NULL ORDER BY received_at LIMIT 100`,
    );
    for (const row of rows) {
      await this.apply(row.payload);
      await this.deps.pool.query(`UPDATE webhook_events SET processed_at = $2 WHERE id = $1`, [row.id, this.deps.clock.now()]);
    }
    return rows.length;
  }

  private async apply(event: Stripe.Event): Promise<void> {
    if (event.type.startsWith("payment_intent.")) {
      const view = paymentView(event.data.object as Stripe.PaymentIntent);
      // Only a final status moves an attempt; `created`, `processing`, `requires_action` never do.
      if (!view.attemptId || view.outcome === "pending") return;
      await this.deps.collector.applyOutcomes([
        { attemptId: view.attemptId, status: view.outcome, providerPaymentId: view.id, failureCode: view.failureCode, failureMessage: view.failureMessage },
      ]);
    } else if (event.type === "refund.created" || event.type === "refund.updated" || event.type === "refund.failed") {
      const refund = event.data.object as Stripe.Refund;
      const view = refundView(refund);
      const refundId = refund.metadata?.[METADATA.refund];
      if (!refundId || (refund.status !== "succeeded" && refund.status !== "failed")) return;
      await this.deps.refunds.finish(refundId, view.succeeded ? "succeeded" : "failed", view.id, view.failureCode ?? "");
    }
  }
}

function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(":");
  return [address.slice(0, i), Number(address.slice(i + 1))];
}

import { createHmac } from "node:crypto";
import * as http from "node:http";

/**
 * Delivers events to one webhook endpoint, signed as Stripe signs them:
 * `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.payload" with the secret>`
 * (https://docs.stripe.com/webhooks#verify-manually). A non-2xx answer is retried a few times.
 *
 * Faults: `delayMs` delivers late, `duplicate` delivers every event twice, and `hold` keeps
 * events until `release()`, which can deliver them in reverse order.
 */
export interface WebhookEndpoint {
  url: string;
  secret: string;
}

export interface WebhookFaults {
  delayMs?: number;
  duplicate?: boolean;
  hold?: boolean;
}

const RETRIES = 3;

export function signPayload(payload: string, secret: string, timestampSeconds: number): string {
  const v1 = createHmac("sha256", secret).update(`${timestampSeconds}.${payload}`).digest("hex");
  return `t=${timestampSeconds},v1=${v1}`;
}

export class WebhookSender {
  faults: WebhookFaults = {};
  private held: string[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  /** Deliveries answered 2xx, for tests. */
  delivered = 0;

  /**
   * @param now Unix ms; the signature's timestamp comes from it.
   * @param endpoint where events go; none are sent until one is set.
   */
  constructor(
    private readonly now: () => number,
    public endpoint?: WebhookEndpoint,
  ) {}

  send(event: object): void {
    if (!this.endpoint) return;
    const payload = JSON.stringify(event, null, 2);
    if (this.faults.hold) {
      this.held.push(payload);
      return;
    }
    this.deliverSoon(payload);
    if (this.faults.duplicate) this.deliverSoon(payload);
  }

  /** Delivers held events, in the order they happened or reversed. */
  release(order: "forward" | "reverse" = "forward"): void {
    const events = order === "reverse" ? [...this.held].reverse() : this.held;
    this.held = [];
    for (const payload of events) this.track(this.deliver(payload));
  }

  get heldCount(): number {
    return this.held.length;
  }

  /** Resolves when every delivery started so far has finished. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  private deliverSoon(payload: string): void {
    const delay = this.faults.delayMs ?? 0;
    this.track(delay > 0 ? sleep(delay).then(() => this.deliver(payload)) : this.deliver(payload));
  }

  private track(work: Promise<void>): void {
    const tracked = work.catch(() => undefined);
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }

  private async deliver(payload: string): Promise<void> {
    const { url, secret } = this.endpoint!;
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      const signature = signPayload(payload, secret, Math.floor(this.now() / 1000));
      const status = await post(url, payload, signature).catch(() => 0);
      if (status >= 200 && status < 300) {
        this.delivered++;
        return;
      }
      await sleep(50 * 2 ** attempt);
    }
  }
}

function post(url: string, payload: string, signature: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: "POST", headers: { "content-type": "application/json; charset=utf-8", "stripe-signature": signature, "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)" } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

function sleep(ms: number): Promise<void> {
  // unref: a held response (a fault) must not keep a test process alive after close().
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

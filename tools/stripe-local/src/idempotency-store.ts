import { idempotencyInFlight, idempotencyMismatch } from "./stripe-error";

/**
 * Stripe's Idempotency-Key semantics (https://docs.stripe.com/api/idempotent_requests): the
 * first request's status and body are stored once it started executing (errors included,
 * e.g. a card decline), and a retry with the same key and the same parameters gets them back
 * with `Idempotent-Replayed: true`. The same key with other parameters is a 400
 * `idempotency_error`; while the first is still executing, a 409. Keys are per API key.
 */
export interface StoredResponse {
  status: number;
  body: unknown;
}

interface Entry {
  fingerprint: string;
  response?: StoredResponse;
}

export type IdempotencyLookup = { kind: "new" } | { kind: "replay"; response: StoredResponse };

export class IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  /** Claims the key for this request or returns what it stored; throws Stripe's errors otherwise. */
  begin(apiKey: string, key: string, fingerprint: string): IdempotencyLookup {
    const id = `${apiKey}\u0000${key}`;
    const entry = this.entries.get(id);
    if (!entry) {
      this.entries.set(id, { fingerprint });
      return { kind: "new" };
    }
    if (entry.fingerprint !== fingerprint) throw idempotencyMismatch(key);
    if (!entry.response) throw idempotencyInFlight();
    return { kind: "replay", response: entry.response };
  }

  finish(apiKey: string, key: string, response: StoredResponse): void {
    const entry = this.entries.get(`${apiKey}\u0000${key}`);
    if (entry) entry.response = response;
  }

  /** The request did not start executing (e.g. a 500 before any work): the key is free again. */
  release(apiKey: string, key: string): void {
    this.entries.delete(`${apiKey}\u0000${key}`);
  }
}

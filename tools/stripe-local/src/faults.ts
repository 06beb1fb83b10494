/**
 * Failures the server can be told to produce, each for the next `times` matching requests:
 * - `error_500`: answers 500 `api_error` before doing anything (safe to retry);
 * - `lose_response`: does the work (the charge is made, the idempotent result stored), then
 *   drops the connection without answering — the caller cannot know what happened;
 * - `delay_response`: does the work, then answers only after `delayMs` (past a client timeout);
 * - `decline`: the next PaymentIntent confirmation is declined with `declineCode`.
 */
export type FaultAction = "error_500" | "lose_response" | "delay_response" | "decline";

export interface Fault {
  action: FaultAction;
  /** HTTP method to match (default any). */
  method?: string;
  /** Path prefix to match, e.g. `/v1/payment_intents` (default any). */
  path?: string;
  /** How many matching requests it applies to (default 1). */
  times?: number;
  delayMs?: number;
  declineCode?: string;
}

export class FaultPlan {
  private faults: (Fault & { times: number })[] = [];

  add(...faults: Fault[]): void {
    for (const f of faults) this.faults.push({ ...f, times: f.times ?? 1 });
  }

  /** The faults still to be served (each with the `times` left). */
  pending(): Fault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  clear(): void {
    this.faults = [];
  }

  /** The first matching fault of one of `actions`, consumed once. */
  take(method: string, path: string, actions: FaultAction[]): Fault | undefined {
    const i = this.faults.findIndex(
      (f) => actions.includes(f.action) && (!f.method || f.method === method) && (!f.path || path.startsWith(f.path)),
    );
    if (i < 0) return undefined;
    const fault = this.faults[i]!;
    fault.times -= 1;
    if (fault.times <= 0) this.faults.splice(i, 1);
    return fault;
  }
}

import type { Logger } from "@tally/platform";
import type { CustomerSections } from "./customer-page";

/** Sends some sections of a customer page to one browser. */
export type SectionSink = (update: Partial<CustomerSections>) => void;

/**
 * Fans a customer's changes out to the browsers watching that customer (server-sent events).
 *
 * An event for a watched customer rebuilds its page once, pushing each section to every watcher
 * as soon as it is ready;
 * events arriving during a rebuild coalesce into one more rebuild, so a burst of usage costs
 * two rebuilds, not one per event. Limits burns credits from the same usage.rated event one hop
 * later and announces burns with no event of its own, so each change also schedules one
 * follow-up rebuild FOLLOW_UP_MS later, which picks up the new credit balance.
 * Customers nobody watches cost nothing.
 */
export class LiveUpdates {
  static readonly FOLLOW_UP_MS = 1000;
  private readonly customers = new Map<string, { watchers: Set<SectionSink>; running: boolean; again: boolean; followUp?: NodeJS.Timeout }>();

  constructor(
    private readonly build: (customerId: string, emit: SectionSink) => Promise<unknown>,
    private readonly log: Logger,
  ) {}

  /** Starts sending `customerId`'s page to `send` on every change; returns the way to stop. */
  watch(customerId: string, send: SectionSink): () => void {
    let state = this.customers.get(customerId);
    if (!state) this.customers.set(customerId, (state = { watchers: new Set(), running: false, again: false }));
    state.watchers.add(send);
    return () => {
      state.watchers.delete(send);
      if (state.watchers.size === 0) {
        clearTimeout(state.followUp);
        this.customers.delete(customerId);
      }
    };
  }

  customerChanged(customerId: string): void {
    const state = this.customers.get(customerId);
    if (!state) return;
    this.refresh(customerId);
    clearTimeout(state.followUp);
    state.followUp = setTimeout(() => this.refresh(customerId), LiveUpdates.FOLLOW_UP_MS).unref();
  }

  close(): void {
    for (const state of this.customers.values()) clearTimeout(state.followUp);
    this.customers.clear();
  }

  private refresh(customerId: string): void {
    const state = this.customers.get(customerId);
    if (!state) return;
    if (state.running) {
      state.again = true;
      return;
    }
    state.running = true;
    state.again = false;
    this.build(customerId, (update) => {
      for (const send of state.watchers) send(update);
    })
      .catch((err: unknown) => this.log.error("live refresh failed", { customerId, err }))
      .finally(() => {
        state.running = false;
        if (state.again) this.refresh(customerId);
      });
  }
}

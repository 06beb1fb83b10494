import { loadActiveMeters } from "../adapter/meter-store";
import type { Queryable } from "../adapter/queryable";
import type { Meter } from "../domain/meter";

const NONE: readonly Meter[] = [];

/**
 * This instance's copy of the active meters, indexed by event type. Every ingest transaction
 * reads the catalog version under the shared catalog lock and calls {@link ensureVersion}: the
 * copy is reloaded (in that transaction) only when another transaction — on any instance —
 * changed a meter. So an event type is accepted as soon as its meter is committed, and an
 * archived meter stops matching at once, with no polling and no notification to miss.
 */
export class MeterCatalog {
  private version: string | undefined;
  private byEventType = new Map<string, readonly Meter[]>();
  private loading: { version: string; done: Promise<void> } | undefined;

  async ensureVersion(db: Queryable, version: string): Promise<void> {
    if (version === this.version) return;
    // Two flushes that see the same new version share one reload.
    if (this.loading?.version !== version) {
      const done = this.reload(db, version);
      this.loading = { version, done };
      done.finally(() => {
        if (this.loading?.done === done) this.loading = undefined;
      }).catch(() => undefined);
    }
    await this.loading.done;
  }

  private async reload(db: Queryable, version: string): Promise<void> {
    const meters = await loadActiveMeters(db);
    const byEventType = new Map<string, Meter[]>();
    for (const meter of meters) {
      const list = byEventType.get(meter.eventType);
      if (list) list.push(meter);
      else byEventType.set(meter.eventType, [meter]);
    }
    this.byEventType = byEventType;
    this.version = version;
  }

  /** The catalog version the cached meters are from (undefined before the first load). */
  get loadedVersion(): string | undefined {
    return this.version;
  }

  /** Active meters reading `eventType`, ordered by key. */
  metersFor(eventType: string): readonly Meter[] {
    return this.byEventType.get(eventType) ?? NONE;
  }
}

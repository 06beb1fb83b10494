import { Code, TallyError, type Pool } from "@tally/platform";
import { meteringMeters, type MeteringMeters } from "../adapter/metering-meters";
import { getMeters, upsertMeter } from "../adapter/meter-store";
import type { MeterInfo } from "../domain/rate-plan";

/** How long one GetMeter may take before the plan is refused as UNAVAILABLE. */
const LOOKUP_TIMEOUT_MS = 5_000;

/** Metering could not say whether a meter exists: the caller should retry, the plan may be fine. */
export class MeteringUnavailableError extends TallyError {
  constructor(field: string, key: string, cause: unknown) {
    super(Code.Unavailable, "metering_unavailable", `${field}: meter ${JSON.stringify(key)} is not known to rating yet and metering cannot be asked; retry with backoff`, [], {
      cause,
    });
  }
}

/**
 * Rating's meters, as needed to validate a plan. Rating learns meters from metering's events,
 * which lag a CreateMeter by a moment: a key missing from the copy is asked of metering
 * (GetMeter) and copied, so a meter that exists is usable at once and only one metering does
 * not know is refused. Without a metering address, the copy is all there is.
 */
export class MeterLookup {
  constructor(
    private readonly pool: Pool,
    private readonly source: { address: string; apiKey: string } | undefined,
  ) {}

  /** `keys[i]` is the meter of the field `fields[i]` (named in an UNAVAILABLE error). */
  async find(keys: string[], fields: string[]): Promise<Map<string, MeterInfo>> {
    const found = await getMeters(this.pool, keys);
    const missing = [...new Set(keys.filter((k) => k !== "" && !found.has(k)))];
    if (missing.length === 0 || !this.source) return found;
    const meters = meteringMeters(this.source.address, this.source.apiKey);
    try {
      for (const key of missing) {
        const info = await this.ask(meters, key, fields[keys.indexOf(key)]!);
        if (!info) continue;
        await upsertMeter(this.pool, info);
        found.set(key, info);
      }
    } finally {
      meters.close();
    }
    return found;
  }

  /** A meter metering does not know, or whose aggregation rating cannot read, is unknown (undefined). */
  private async ask(meters: MeteringMeters, key: string, field: string): Promise<MeterInfo | undefined> {
    let meter;
    try {
      meter = await meters.get(key, LOOKUP_TIMEOUT_MS);
    } catch (err) {
      throw new MeteringUnavailableError(field, key, err);
    }
    return meter && "info" in meter ? meter.info : undefined;
  }
}

import { ConnectError } from "@connectrpc/connect";
import { metering } from "@tally/contracts";
import { Code, createServiceClient, TallyError, type Pool, type ServiceClient } from "@tally/platform";
import { getMeters, upsertMeter } from "../adapter/meter-store";
import type { MeterInfo } from "../domain/rate-plan";
import { meterInfo } from "./meter-copy";

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
    const { client, close } = createServiceClient(metering.Meter, this.source.address, this.source.apiKey);
    try {
      for (const key of missing) {
        const info = await this.ask(client, key, fields[keys.indexOf(key)]!);
        if (!info) continue;
        await upsertMeter(this.pool, info);
        found.set(key, info);
      }
    } finally {
      close();
    }
    return found;
  }

  private async ask(client: ServiceClient<typeof metering.Meter>["client"], key: string, field: string): Promise<MeterInfo | undefined> {
    try {
      const { meter } = await client.getMeter({ key }, { timeoutMs: LOOKUP_TIMEOUT_MS });
      return meter && meterInfo(meter, meter.state === metering.MeterState.ACTIVE);
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.NotFound) return undefined;
      throw new MeteringUnavailableError(field, key, err);
    }
  }
}

import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { metering } from "@tally/contracts";
import type { ServiceClient } from "@tally/platform";
import { Decimal } from "@tally/pricing";
import type { Period } from "../domain/types";

/** Raw usage from metering (QueryUsage): one meter's quantity over a range, per dimension value. */
export class MeteringUsage {
  constructor(private readonly client: ServiceClient<typeof metering.Meter>) {}

  async quantities(customerId: string, meterKey: string, range: Period, dimension: string | undefined): Promise<Map<string, Decimal>> {
    const res = await this.client.client.queryUsage({
      customerId,
      meterKey,
      from: timestampFromDate(range.start),
      to: timestampFromDate(range.end),
      windowSize: metering.WindowSize.NONE,
      groupBy: dimension ? [dimension] : [],
    });
    const out = new Map<string, Decimal>();
    for (const row of res.rows) {
      const value = dimension ? (row.group[dimension] ?? "") : "";
      out.set(value, (out.get(value) ?? new Decimal(0)).plus(row.value));
    }
    return out;
  }
}

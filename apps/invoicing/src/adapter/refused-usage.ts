import { timestampDate } from "@bufbuild/protobuf/wkt";
import { rating } from "@tally/contracts";
import type { ServiceClient } from "@tally/platform";
import type { RefusedReading } from "../domain/reconciliation";

/**
 * Readings rating refused because their period had closed (UNRATED_REASON_PERIOD_CLOSED): usage
 * metering stored that no invoice will bill, by rating's late-window policy. Read from rating's
 * ListUnratedEvents, every page of every customer in one listing (the list is short: readings
 * leave it when a subscription covers them), by customer.
 */
export class RatingRefusedUsage {
  constructor(private readonly client: ServiceClient<typeof rating.Rating>) {}

  async byCustomer(): Promise<Map<string, RefusedReading[]>> {
    const out = new Map<string, RefusedReading[]>();
    let pageToken = "";
    do {
      const res = await this.client.client.listUnratedEvents({ pageSize: 1_000, pageToken });
      for (const e of res.events) {
        if (e.reason !== rating.UnratedReason.PERIOD_CLOSED || !e.time) continue;
        const reading = { eventId: e.eventId, meterKey: e.meterKey, time: timestampDate(e.time), value: e.value, group: e.group, reason: e.detail };
        out.set(e.customerId, [...(out.get(e.customerId) ?? []), reading]);
      }
      pageToken = res.nextPageToken;
    } while (pageToken !== "");
    return out;
  }
}

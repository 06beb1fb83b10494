import { limits } from "@tally/contracts";
import type { ServiceClient } from "@tally/platform";
import { Decimal } from "@tally/pricing";

/** Credits burned for a subscription's period, as limits' ledger has them. */
export interface CreditBurns {
  burned(customerId: string, subscriptionId: string, periodStart: Date): Promise<Decimal>;
}

/**
 * Reads limits' ledger (ListLedgerEntries). Limits burns credit per running amount with source_ref
 * "<subscription>/<component>/<dimension>/<period start ISO>#<sequence>"; a BURN entry's amount is
 * negative when credit was taken and positive when given back, so the period's burn is −Σ.
 */
export class LimitsCreditBurns implements CreditBurns {
  constructor(private readonly client: ServiceClient<typeof limits.Limits>) {}

  async burned(customerId: string, subscriptionId: string, periodStart: Date): Promise<Decimal> {
    const marker = `/${periodStart.toISOString()}#`;
    let total = new Decimal(0);
    let pageToken = "";
    do {
      const res = await this.client.client.listLedgerEntries({ customerId, pageSize: 1000, pageToken });
      for (const e of res.entries) {
        if (e.kind !== limits.LedgerEntryKind.BURN) continue;
        if (!e.sourceRef.startsWith(`${subscriptionId}/`) || !e.sourceRef.includes(marker)) continue;
        total = total.minus(e.amount);
      }
      pageToken = res.nextPageToken;
    } while (pageToken);
    return total;
  }
}

/** No limits service configured: nothing was prepaid. */
export const noCreditBurns: CreditBurns = { burned: async () => new Decimal(0) };

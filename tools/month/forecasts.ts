import type { rating } from "@tally/contracts";
import { Decimal } from "@tally/pricing";
import { retrying, type MonthClients } from "./clients";
import { inParallel } from "./setup-catalog";
import type { ScenarioCustomer } from "./scenario";

/** The days of November at whose start the forecasts are recorded. */
export const FORECAST_DAYS = [5, 10, 20, 25] as const;

interface Snapshot {
  day: number;
  perCustomer: Map<string, { total: Decimal; low?: Decimal; high?: Decimal }>;
  revenue: Map<string, Decimal>;
}

export interface ForecastScore {
  day: number;
  customers: number;
  /** Mean absolute percentage error of each customer's projected total against the invoice total. */
  mapePercent: string;
  /** Per currency: (ForecastRevenue's projected total − invoiced) / invoiced. */
  revenueErrorPercent: Record<string, string>;
  /** Share of customers whose invoice fell inside the forecast's P10–P90 range; "n/a" when none gave one. */
  coveragePercent: string;
}

/** The forecast's P10–P90 range of the period's total (`ForecastResponse.amount`), when it gives one. */
function rangeOf(res: rating.ForecastResponse): { low?: Decimal; high?: Decimal } {
  const range = res.amount;
  return range?.p10 && range.p90 ? { low: new Decimal(range.p10), high: new Decimal(range.p90) } : {};
}

export async function recordForecasts(c: MonthClients, day: number, customers: readonly ScenarioCustomer[], currencies: readonly string[]): Promise<Snapshot> {
  const perCustomer: Snapshot["perCustomer"] = new Map();
  await inParallel(customers, 16, async (cu) => {
    const res = await retrying(() => c.rater.forecast({ customerId: cu.id })).catch(() => undefined);
    if (res?.projectedTotal) perCustomer.set(cu.id, { total: new Decimal(res.projectedTotal), ...rangeOf(res) });
  });
  const revenue: Snapshot["revenue"] = new Map();
  for (const currency of currencies) {
    const res = await retrying(() => c.rater.forecastRevenue({ currency })).catch(() => undefined);
    if (res?.projectedTotal) revenue.set(currency, new Decimal(res.projectedTotal));
  }
  return { day, perCustomer, revenue };
}

export function scoreForecasts(snapshots: readonly Snapshot[], invoiced: ReadonlyMap<string, { currency: string; total: Decimal }>): ForecastScore[] {
  return snapshots.map((s) => {
    let apeSum = new Decimal(0);
    let n = 0;
    let ranged = 0;
    let inside = 0;
    const invoicedByCurrency = new Map<string, Decimal>();
    for (const [, inv] of invoiced) invoicedByCurrency.set(inv.currency, (invoicedByCurrency.get(inv.currency) ?? new Decimal(0)).plus(inv.total));
    for (const [id, f] of s.perCustomer) {
      const truth = invoiced.get(id);
      if (!truth || truth.total.isZero()) continue;
      apeSum = apeSum.plus(f.total.minus(truth.total).abs().div(truth.total));
      n++;
      if (f.low && f.high) {
        ranged++;
        if (truth.total.gte(f.low) && truth.total.lte(f.high)) inside++;
      }
    }
    const revenueErrorPercent: Record<string, string> = {};
    for (const [currency, projected] of s.revenue) {
      const truth = invoicedByCurrency.get(currency);
      if (truth && !truth.isZero()) revenueErrorPercent[currency] = projected.minus(truth).div(truth).times(100).toFixed(2);
    }
    return {
      day: s.day,
      customers: n,
      mapePercent: n > 0 ? apeSum.div(n).times(100).toFixed(2) : "n/a",
      revenueErrorPercent,
      coveragePercent: ranged > 0 ? ((inside / ranged) * 100).toFixed(1) : "n/a",
    };
  });
}

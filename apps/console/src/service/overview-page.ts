import { Decimal } from "@tally/pricing";
import { formatMoney } from "@tally/invoice-documents";
import type { Logger } from "@tally/platform";
import type { TallyServices } from "../adapter/tally-services";
import type { ForecastRecord, InvoiceStatus, SubscriptionRecord } from "../domain/records";
import { limitPositions, limitView, type LimitView } from "./customer-page";
import { momentLabel } from "./labels";
import { mapLimited, section, type Section } from "./section";

/** Customers asked about at once when the overview fans out per customer. */
const FAN_OUT = 6;
const TOP = 10;

export interface OverviewPage {
  generatedAt: string;
  customers: number;
  revenue: Section<{ currency: string; amountToDate: string; projectedTotal: string; subscriptions: number }[]>;
  topCustomers: Section<{ customerId: string; plan: string; currency: string; amountToDate: string; amountToDateRaw: string; projectedTotal: string }[]>;
  nearCaps: Section<({ customerId: string } & LimitView)[]>;
  invoicesByStatus: Section<{ status: InvoiceStatus; count: number; totals: string }[]>;
  failedPayments: Section<{ customerId: string; invoiceId: string; amount: string; reason: string; time: string }[]>;
}

/**
 * The overview is computed from the same public rpcs as the customer page: one Forecast and one
 * GetLimits per active customer (at most FAN_OUT at a time), ForecastRevenue per currency seen,
 * ListInvoices and ListPaymentAttempts once.
 */
export async function buildOverviewPage(services: TallyServices, log: Logger): Promise<OverviewPage> {
  const subscriptions = services.listActiveSubscriptions();
  // A customer whose Forecast fails (e.g. its period just rolled over) is left out, not fatal.
  const forecasts = subscriptions.then((subs) => mapLimited(subs, FAN_OUT, async (s) => ({ s, f: await services.forecast(s.customerId).catch(() => undefined) })));
  forecasts.catch(() => undefined);
  const known = async () => (await forecasts).filter((x): x is { s: SubscriptionRecord; f: ForecastRecord } => x.f !== undefined);

  const [revenue, topCustomers, nearCaps, invoicesByStatus, failedPayments] = await Promise.all([
    section(log, "revenue", async () => {
      const currencies = [...new Set((await known()).map((x) => x.f.currency))].sort();
      const rows = await Promise.all(currencies.map((c) => services.forecastRevenue(c)));
      return rows.map((r) => ({
        currency: r.currency,
        amountToDate: formatMoney(r.amountToDate, r.currency),
        projectedTotal: formatMoney(r.projectedTotal, r.currency),
        subscriptions: r.subscriptionCount,
      }));
    }),
    section(log, "topCustomers", async () =>
      (await known())
        .sort((a, b) => a.f.currency.localeCompare(b.f.currency) || new Decimal(b.f.amountToDate).cmp(a.f.amountToDate) || a.s.customerId.localeCompare(b.s.customerId))
        .slice(0, TOP)
        .map(({ s, f }) => ({
          customerId: s.customerId,
          plan: `${s.planKey} v${s.planVersion}`,
          currency: f.currency,
          amountToDate: formatMoney(f.amountToDate, f.currency),
          amountToDateRaw: f.amountToDate,
          projectedTotal: formatMoney(f.projectedTotal, f.currency),
        })),
    ),
    section(log, "nearCaps", async () => {
      const perCustomer = await mapLimited(await subscriptions, FAN_OUT, async (s) => {
        const usage = await services.currentUsage(s.customerId).catch(() => undefined);
        if (!usage) return [];
        return (await limitPositions(services, s.customerId, usage)).filter((p) => p.state !== "ok").map((p) => ({ customerId: s.customerId, ...limitView(p) }));
      });
      return perCustomer.flat().sort((a, b) => b.ratio - a.ratio);
    }),
    section(log, "invoicesByStatus", async () => {
      const groups = new Map<InvoiceStatus, { count: number; totals: Map<string, Decimal> }>();
      for (const i of await services.invoices()) {
        let g = groups.get(i.status);
        if (!g) groups.set(i.status, (g = { count: 0, totals: new Map() }));
        g.count += 1;
        g.totals.set(i.currency, (g.totals.get(i.currency) ?? new Decimal(0)).plus(i.total));
      }
      const order: InvoiceStatus[] = ["draft", "finalized", "paid", "uncollectible", "void"];
      return order
        .filter((s) => groups.has(s))
        .map((status) => {
          const g = groups.get(status)!;
          return { status, count: g.count, totals: [...g.totals].map(([c, t]) => formatMoney(t.toFixed(), c)).join(" + ") };
        });
    }),
    section(log, "failedPayments", async () => {
      const failed = (await services.payments()).filter((p) => p.status === "failed");
      return failed.map((p) => ({
        customerId: p.customerId,
        invoiceId: p.invoiceId,
        amount: formatMoney(p.amount, p.currency),
        reason: p.failureMessage || p.failureCode,
        time: momentLabel(p.time),
      }));
    }),
  ]);
  const customers = await subscriptions.then((subs) => subs.length).catch(() => 0);
  return { generatedAt: new Date().toISOString(), customers, revenue, topCustomers, nearCaps, invoicesByStatus, failedPayments };
}

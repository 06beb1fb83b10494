import { formatDateRange, formatFraction, formatMoney, formatQuantity } from "@tally/invoice-documents";
import type { Logger } from "@tally/platform";
import { limitPosition, spendOf, type LimitPosition } from "../domain/limit-position";
import type { ComponentUsageRecord, CurrentUsageRecord, LimitRecord, SubscriptionRecord } from "../domain/records";
import { tierProgress } from "../domain/tier-progress";
import { dailyUsageChart, type DailyUsageChart } from "../domain/usage-chart";
import type { TallyServices } from "../adapter/tally-services";
import { momentLabel, percentLabel } from "./labels";
import { section, type Section } from "./section";

/**
 * Everything the customer page shows, already formatted (amounts in the plan currency's minor
 * unit, as on invoices). Raw decimal strings ride along where the browser draws charts.
 */
export interface CustomerPage {
  customerId: string;
  generatedAt: string;
  subscription: Section<{ id: string; plan: string; period: string; timeZone: string }>;
  components: Section<ComponentView[]>;
  amount: Section<{ currency: string; total: string; subtotal: string }>;
  forecast: Section<{ projectedTotal: string; amountToDate: string; elapsed: string }>;
  usage: Section<{ meterKey: string; groupBy: string; total: string; chart: DailyUsageChart }[]>;
  credits: Section<{ currency: string; balance: string; available: string; depleted: boolean; prepaidOnly: boolean; burnDown: { time: string; balance: string }[] }>;
  limits: Section<LimitView[]>;
  alerts: Section<{ id: string; time: string; limit: string; threshold: string; observed: string }[]>;
  invoices: Section<
    { id: string; number: string; status: string; period: string; total: string; amountDue: string; pdf: string; html: string; creditNotes: { id: string; number: string; amount: string; reason: string; pdf: string; html: string }[] }[]
  >;
}

export interface ComponentView {
  componentKey: string;
  dimensionValue: string;
  meterKey: string;
  plan: string;
  quantity: string;
  billableQuantity: string;
  /** 1-based, as people count tiers. */
  tier: number;
  tierRange: string;
  unitsToNextTier: string;
  /** Share of the current tier used, 0–1; null in an open-ended tier. */
  progress: number | null;
  amount: string;
}

export interface LimitView {
  id: string;
  label: string;
  kind: string;
  usage: string;
  value: string;
  ratio: number;
  percent: string;
  state: LimitPosition["state"];
}

/** The blocks of the customer page, each fetched on its own. */
export type CustomerSections = Omit<CustomerPage, "customerId" | "generatedAt">;

/**
 * Builds the page; `onSection` hears each block the moment it is ready, so a live page shows a
 * new tier after one GetCurrentUsage instead of after the slowest rpc of the page.
 */
export async function buildCustomerPage(
  services: TallyServices,
  log: Logger,
  customerId: string,
  onSection: (update: Partial<CustomerSections>) => void = () => undefined,
): Promise<CustomerPage> {
  const part = <K extends keyof CustomerSections>(key: K, work: () => Promise<CustomerSections[K] extends Section<infer T> ? T : never>) =>
    section(log, key, work).then((s) => {
      onSection({ [key]: s } as Partial<CustomerSections>);
      return s as CustomerSections[K];
    });
  // What moves with every usage event — tier position and running amount — is asked first and
  // alone; the other blocks start once it is answered, so on a busy server the live figures do not
  // queue behind a dozen slower rpcs.
  const current = services.currentUsage(customerId);
  const preview = services.preview(customerId);
  const first = Promise.allSettled([current, preview]);
  const subscription = first.then(() => services.activeSubscription(customerId));
  // Settle early so a failure surfaces in its sections, never as an unhandled rejection.
  for (const p of [current, preview, subscription]) p.catch(() => undefined);
  const afterFirst = <T>(work: () => Promise<T>) => async () => {
    await first;
    return work();
  };
  const withUsage = async <T>(work: (sub: SubscriptionRecord, usage: CurrentUsageRecord) => Promise<T>) => work(await subscription, await current);

  const [sub, components, amount, forecast, usage, credits, limits, alerts, invoices] = await Promise.all([
    part("subscription", async () => {
      const s = await subscription;
      return { id: s.id, plan: `${s.planKey} v${s.planVersion}`, period: formatDateRange(s.period, s.timeZone), timeZone: s.timeZone };
    }),
    part("components", async () => (await current).components.map(componentView)),
    part("amount", async () => {
      const p = await preview;
      return { currency: p.currency, total: formatMoney(p.total, p.currency), subtotal: p.subtotal };
    }),
    part("forecast", afterFirst(async () => {
      const f = await services.forecast(customerId);
      return { projectedTotal: formatMoney(f.projectedTotal, f.currency), amountToDate: formatMoney(f.amountToDate, f.currency), elapsed: formatFraction(f.elapsedFraction) };
    })),
    part("usage", () =>
      withUsage(async (s, u) => {
        const meters = [...new Set(u.components.map((c) => c.meterKey))].sort();
        return Promise.all(
          meters.map(async (meterKey) => {
            const meter = await services.meterDefinition(meterKey);
            const groupBy = meter.groupBy[0] ?? "";
            const rows = await services.usage({ customerId, meterKey, from: u.period.start, daily: true, timeZone: s.timeZone, groupBy: groupBy ? [groupBy] : [] });
            const chart = dailyUsageChart(u.period, rows, groupBy, s.timeZone);
            return { meterKey, groupBy, total: formatQuantity(chart.total), chart };
          }),
        );
      }),
    ),
    part("credits", afterFirst(async () => {
      const [b, ledger] = await Promise.all([services.balance(customerId), services.ledger(customerId)]);
      // A customer never granted credits has a balance with no currency: show it in the plan's.
      const currency = b.currency || (await current.then((u) => u.components[0]?.currency).catch(() => undefined)) || "USD";
      return {
        currency,
        balance: formatMoney(b.balance, currency),
        available: formatMoney(b.available, currency),
        depleted: b.depleted,
        prepaidOnly: b.prepaidOnly,
        burnDown: ledger.map((e) => ({ time: e.time.toISOString(), balance: e.balanceAfter })),
      };
    })),
    part("limits", () => withUsage(async (_s, u) => (await limitPositions(services, customerId, u)).map(limitView))),
    part("alerts", afterFirst(async () =>
      (await services.alerts(customerId)).map((a) => ({
        id: a.id,
        time: momentLabel(a.time),
        limit: `${a.kind === "hard_cap" ? "Hard cap" : "Soft limit"} on ${a.measure === "spend" ? `${a.meterKey || "total"} spend` : a.meterKey}`,
        threshold: `${a.threshold} (${amountIn(a.thresholdValue, a.currency)})`,
        observed: amountIn(a.observedValue, a.currency),
      })),
    )),
    part("invoices", afterFirst(async () =>
      Promise.all((await services.invoices(customerId)).map(async (i) => ({
        id: i.id,
        number: i.number || "Draft",
        status: i.status,
        period: formatDateRange(i.period),
        total: formatMoney(i.total, i.currency),
        amountDue: formatMoney(i.amountDue, i.currency),
        pdf: `/invoices/${encodeURIComponent(i.id)}.pdf`,
        html: `/invoices/${encodeURIComponent(i.id)}.html`,
        // Only invoices something was credited on have credit notes: one ListCreditNotes each.
        creditNotes: /^0*(\.0*)?$/.test(i.amountCredited)
          ? []
          : (await services.creditNotes(i.id)).map((n) => ({
              id: n.id,
              number: n.number,
              amount: formatMoney(n.amount, n.currency),
              reason: n.reason,
              pdf: `/credit-notes/${encodeURIComponent(n.id)}.pdf`,
              html: `/credit-notes/${encodeURIComponent(n.id)}.html`,
            })),
      }))),
    )),
  ]);
  return { customerId, generatedAt: new Date().toISOString(), subscription: sub, components, amount, forecast, usage, credits, limits, alerts, invoices };
}

/**
 * Each effective limit with the customer's usage in its measure: units from metering (the same
 * aggregation limits counts), spend from rating's running amounts. One QueryUsage per units limit.
 */
export async function limitPositions(services: TallyServices, customerId: string, usage: CurrentUsageRecord): Promise<LimitPosition[]> {
  const limits = await services.limits(customerId);
  return Promise.all(
    limits.map(async (limit: LimitRecord) => {
      if (limit.measure === "spend") return limitPosition(limit, spendOf(usage.components, limit.meterKey));
      const rows = await services.usage({ customerId, meterKey: limit.meterKey, from: usage.period.start, daily: false, timeZone: "UTC", groupBy: [] });
      return limitPosition(limit, rows[0]?.value ?? "0");
    }),
  );
}

export function limitView(p: LimitPosition): LimitView {
  const { limit } = p;
  return {
    id: limit.id,
    label: limit.measure === "spend" ? `${limit.meterKey || "Total"} spend` : `${limit.meterKey} units`,
    kind: limit.kind === "hard_cap" ? "Hard cap" : "Soft limit",
    usage: amountIn(p.usage, limit.currency),
    value: amountIn(limit.value, limit.currency),
    ratio: p.ratio,
    percent: percentLabel(p.ratio),
    state: p.state,
  };
}

function componentView(c: ComponentUsageRecord): ComponentView {
  const open = !c.tierUpperBound;
  const lower = formatQuantity(c.tierLowerBound || "0");
  return {
    componentKey: c.componentKey,
    dimensionValue: c.dimensionValue,
    meterKey: c.meterKey,
    plan: `${c.planKey} v${c.planVersion}`,
    quantity: formatQuantity(c.quantity),
    billableQuantity: formatQuantity(c.billableQuantity || c.quantity),
    tier: c.tierIndex + 1,
    tierRange: !c.tierLowerBound && open ? "single rate" : open ? `above ${lower}` : `${lower} – ${formatQuantity(c.tierUpperBound)}`,
    unitsToNextTier: c.unitsToNextTier ? formatQuantity(c.unitsToNextTier) : "",
    progress: tierProgress(c),
    amount: formatMoney(c.amount, c.currency),
  };
}

/** Money when the measure has a currency (spend), a plain quantity otherwise (units). */
const amountIn = (value: string, currency: string) => (currency ? formatMoney(value, currency) : formatQuantity(value));

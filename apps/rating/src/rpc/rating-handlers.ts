import type { rating } from "@tally/contracts";
import type { ServiceDeps, ServiceHandlers } from "@tally/platform";
import { toMaxScale } from "@tally/pricing";
import { invoiceLineProto, range, roundedWire, ts, UNRATED_REASON, wire } from "../adapter/proto-mapping";
import type { PlanService } from "../service/plan-service";
import type { SubscriptionService } from "../service/subscription-service";
import type { UsageReader } from "../service/usage-reader";
import { previewPeriods } from "./preview-periods";

/** Thin handlers: validate the envelope, call the service, map to proto. */
export function ratingHandlers(
  plans: PlanService,
  subscriptions: SubscriptionService,
  reader: UsageReader,
  deps: Pick<ServiceDeps, "pool" | "clock">,
): ServiceHandlers<typeof rating.Rating> {
  return {
    createPlan: async (req) => ({ plan: await plans.create(req.plan) }),
    getPlan: async (req) => ({ plan: await plans.get(req.key, req.version) }),
    listPlans: async (req) => plans.list(req),
    updatePlan: async (req) => ({ plan: await plans.update(req.plan, req.expectedVersion) }),
    createSubscription: async (req) => ({ subscription: await subscriptions.create(req) }),
    getSubscription: async (req) => ({ subscription: await subscriptions.get(req.subscriptionId) }),
    listSubscriptions: async (req) => subscriptions.list(req),
    changePlan: async (req) => ({ subscription: await subscriptions.changePlan(req) }),
    cancelSubscription: async (req) => ({ subscription: await subscriptions.cancel(req) }),
    getCurrentUsage: async (req) => reader.currentUsage(req.customerId),
    previewInvoice: async (req) => {
      const { current, lines, subtotal, total } = await reader.preview(req.customerId);
      return {
        preview: {
          customerId: current.sub.customerId,
          subscriptionId: current.sub.id,
          period: range(current.period),
          currency: current.currency,
          lines: lines.map(invoiceLineProto),
          subtotal: wire(subtotal),
          total: roundedWire(total, current.currency),
        },
        asOfTime: ts(current.now),
      };
    },
    forecast: async (req) => {
      const { current, forecast } = await reader.forecast(req.customerId);
      return {
        subscriptionId: current.sub.id,
        period: range(current.period),
        currency: current.currency,
        amountToDate: wire(forecast.amountToDate),
        projectedAmount: wire(forecast.projectedAmount),
        projectedTotal: roundedWire(forecast.projectedAmount, current.currency),
        elapsedFraction: wire(toMaxScale(forecast.elapsedFraction)),
        components: forecast.components.map((c) => ({
          componentKey: c.componentKey,
          dimensionValue: c.dimensionValue,
          quantityToDate: wire(c.quantityToDate),
          projectedQuantity: wire(c.projectedQuantity),
          amountToDate: wire(c.amountToDate),
          projectedAmount: wire(c.projectedAmount),
        })),
        asOfTime: ts(current.now),
      };
    },
    forecastRevenue: async (req) => {
      const r = await reader.forecastRevenue(req.currency);
      return {
        currency: req.currency,
        amountToDate: wire(r.amountToDate),
        projectedAmount: wire(r.projectedAmount),
        projectedTotal: roundedWire(r.projectedAmount, req.currency),
        subscriptionCount: r.count,
        asOfTime: ts(r.now),
      };
    },
    quote: async (req) => {
      const q = await reader.quote(req);
      return {
        planKey: q.plan.key,
        planVersion: q.plan.version,
        currency: q.plan.currency,
        lines: q.lines.map(invoiceLineProto),
        subtotal: wire(q.subtotal),
        total: roundedWire(q.total, q.plan.currency),
      };
    },
    previewPeriods: (req) => previewPeriods(deps, reader, req),
    listUnratedEvents: async (req) => {
      const { rows, nextPageToken } = await reader.listUnrated(req);
      return {
        events: rows.map((r) => ({
          eventId: r.eventId,
          customerId: r.customerId,
          eventType: r.eventType,
          time: ts(r.eventTime),
          meterKey: r.meterKey,
          value: r.value,
          reason: UNRATED_REASON[r.reason],
          detail: r.detail,
          receiveTime: ts(r.receiveTime),
          group: r.group,
        })),
        nextPageToken,
      };
    },
  };
}

/** admin for writes, read for reads. */
export const RATING_SCOPES = {
  createPlan: "admin",
  getPlan: "read",
  listPlans: "read",
  updatePlan: "admin",
  createSubscription: "admin",
  getSubscription: "read",
  listSubscriptions: "read",
  changePlan: "admin",
  cancelSubscription: "admin",
  getCurrentUsage: "read",
  previewInvoice: "read",
  forecast: "read",
  forecastRevenue: "read",
  quote: "read",
  listUnratedEvents: "read",
  previewPeriods: "read",
} as const;

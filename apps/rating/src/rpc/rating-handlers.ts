import type { rating } from "@tally/contracts";
import type { ServiceDeps, ServiceHandlers } from "@tally/platform";
import { invoiceLineProto, range, roundedWire, ts, UNRATED_REASON, wire } from "../adapter/proto-mapping";
import type { Forecaster } from "../service/forecaster";
import type { PlanService } from "../service/plan-service";
import type { SubscriptionService } from "../service/subscription-service";
import type { UsageReader } from "../service/usage-reader";
import { forecastHandlers } from "./forecast-handlers";
import { previewPeriods } from "./preview-periods";

/** Thin handlers: validate the envelope, call the service, map to proto. */
export function ratingHandlers(
  plans: PlanService,
  subscriptions: SubscriptionService,
  reader: UsageReader,
  deps: Pick<ServiceDeps, "pool" | "clock">,
  forecaster: Forecaster,
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
    ...forecastHandlers(forecaster),
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

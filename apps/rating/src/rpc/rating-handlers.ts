import { rating } from "@tally/contracts";
import type { ServiceDeps, ServiceHandlers } from "@tally/platform";
import { planDraftFromProto, planProto } from "../adapter/plan-mapping";
import { componentUsageProto, dateOf, invoiceLineProto, invoicePreviewProto, range, roundedWire, subscriptionProto, ts, UNRATED_REASON, wire } from "../adapter/proto-mapping";
import type { ChangeTiming } from "../domain/subscription";
import type { Forecaster } from "../service/forecaster";
import type { PlanService } from "../service/plan-service";
import type { SubscriptionService } from "../service/subscription-service";
import type { UsageReader } from "../service/usage-reader";
import { forecastHandlers } from "./forecast-handlers";
import { previewPeriods } from "./preview-periods";

/** Thin handlers: map the request to domain types, call the service, map the answer to proto. */
export function ratingHandlers(
  plans: PlanService,
  subscriptions: SubscriptionService,
  reader: UsageReader,
  deps: Pick<ServiceDeps, "pool" | "clock">,
  forecaster: Forecaster,
): ServiceHandlers<typeof rating.Rating> {
  return {
    createPlan: async (req) => ({ plan: planProto((await plans.create(req.plan && planDraftFromProto(req.plan))).row) }),
    getPlan: async (req) => ({ plan: planProto((await plans.get(req.key, req.version)).row) }),
    listPlans: async (req) => {
      const { plans: page, nextPageToken } = await plans.list({ key: req.key, pageSize: req.pageSize, pageToken: req.pageToken });
      return { plans: page.map((p) => planProto(p.row)), nextPageToken };
    },
    updatePlan: async (req) => ({ plan: planProto((await plans.update(req.plan && planDraftFromProto(req.plan), req.expectedVersion)).row) }),
    createSubscription: async (req) => {
      const { sub, asOf } = await subscriptions.create({
        customerId: req.customerId,
        planKey: req.planKey,
        planVersion: req.planVersion,
        timeZone: req.timeZone,
        anchor: req.anchor === rating.BillingAnchor.ANNIVERSARY ? "anniversary" : "calendar",
        startTime: dateOf(req.startTime),
        idempotencyKey: req.idempotencyKey,
      });
      return { subscription: subscriptionProto(sub, asOf) };
    },
    getSubscription: async (req) => {
      const { sub, asOf } = await subscriptions.get(req.subscriptionId);
      return { subscription: subscriptionProto(sub, asOf) };
    },
    listSubscriptions: async (req) => {
      const page = await subscriptions.list({ customerId: req.customerId, pageSize: req.pageSize, pageToken: req.pageToken });
      return { subscriptions: page.subscriptions.map((s) => subscriptionProto(s.sub, s.asOf)), nextPageToken: page.nextPageToken };
    },
    changePlan: async (req) => {
      const { sub, asOf } = await subscriptions.changePlan({
        subscriptionId: req.subscriptionId,
        planKey: req.planKey,
        planVersion: req.planVersion,
        timing: TIMING[req.timing],
        effectiveTime: dateOf(req.effectiveTime),
      });
      return { subscription: subscriptionProto(sub, asOf) };
    },
    cancelSubscription: async (req) => {
      const { sub, asOf } = await subscriptions.cancel({ subscriptionId: req.subscriptionId, timing: TIMING[req.timing] });
      return { subscription: subscriptionProto(sub, asOf) };
    },
    getCurrentUsage: async (req) => {
      const { current, components } = await reader.currentUsage(req.customerId);
      return { subscriptionId: current.sub.id, period: range(current.period), components: components.map(componentUsageProto), asOfTime: ts(current.now) };
    },
    previewInvoice: async (req) => {
      const { current, lines, subtotal, total } = await reader.preview(req.customerId);
      return { preview: invoicePreviewProto(current, lines, subtotal, total), asOfTime: ts(current.now) };
    },
    ...forecastHandlers(forecaster),
    quote: async (req) => {
      const q = await reader.quote({ planKey: req.planKey, planVersion: req.planVersion, quantities: req.quantities });
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
      const { rows, nextPageToken } = await reader.listUnrated({ customerId: req.customerId, pageSize: req.pageSize, pageToken: req.pageToken });
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

const TIMING: Partial<Record<rating.ChangeTiming, ChangeTiming>> = {
  [rating.ChangeTiming.IMMEDIATELY]: "immediately",
  [rating.ChangeTiming.AT_PERIOD_END]: "at_period_end",
};

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

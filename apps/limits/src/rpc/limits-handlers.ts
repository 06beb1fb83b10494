import { durationMs } from "@bufbuild/protobuf/wkt";
import { limits as pb } from "@tally/contracts";
import type { ServiceHandlers } from "@tally/platform";
import { toWire } from "@tally/pricing";
import {
  alertToWire,
  DENY_REASON,
  dateOf,
  entryToWire,
  grantToWire,
  limitKindFromWire,
  limitMeasureFromWire,
  limitMeasureToWire,
  limitToWire,
  reservationToWire,
  ts,
} from "../adapter/wire";
import type { LimitInput } from "../domain/limit-validation";
import type { LimitScope } from "../domain/types";
import type { AlertService } from "../service/alert-service";
import type { CheckService } from "../service/check-service";
import type { CreditService } from "../service/credit-service";
import type { LimitService } from "../service/limit-service";
import type { UncollectibleBlocks } from "../service/uncollectible-blocks";

export interface LimitsServices {
  limits: LimitService;
  checks: CheckService;
  credits: CreditService;
  alerts: AlertService;
  blocks: UncollectibleBlocks;
}

/** Thin: wire → domain input, call the service, domain → wire. */
export function createLimitsHandlers(s: LimitsServices): ServiceHandlers<typeof pb.Limits> {
  return {
    async setLimit(req) {
      const l = req.limit;
      const input: LimitInput = {
        id: l?.id ?? "",
        scope: scopeOf(l?.scope),
        meterKey: l?.meterKey ?? "",
        kind: l ? limitKindFromWire(l.kind) : undefined,
        measure: l ? limitMeasureFromWire(l.measure) : undefined,
        value: l?.value ?? "",
        currency: l?.currency ?? "",
        alerts: (l?.alerts ?? []).map((a) =>
          a.threshold.case === "percent" ? { percent: a.threshold.value } : a.threshold.case === "absolute" ? { absolute: a.threshold.value } : undefined,
        ),
      };
      return { limit: limitToWire(await s.limits.set(input)) };
    },
    async getLimits(req) {
      return { limits: (await s.limits.get(scopeOf(req.scope))).map(limitToWire) };
    },
    async deleteLimit(req) {
      await s.limits.delete(req.id);
      return {};
    },
    async check(req) {
      const o = await s.checks.check({
        customerId: req.customerId,
        meterKey: req.meterKey,
        quantity: req.quantity,
        reserve: req.reserve,
        reservationTtlMs: req.reservationTtl ? durationMs(req.reservationTtl) : undefined,
        idempotencyKey: req.idempotencyKey,
      });
      return {
        allowed: o.allowed,
        reason: o.reason ? DENY_REASON[o.reason] : pb.DenyReason.UNSPECIFIED,
        limit: o.limit,
        currentUsage: o.currentUsage,
        reserved: o.reserved,
        remaining: o.remaining,
        softLimitExceeded: o.softLimitExceeded,
        reservationId: o.reservationId,
        reservationExpireTime: o.reservationExpireTime ? ts(new Date(o.reservationExpireTime)) : undefined,
        limitId: o.limitId,
        measure: o.measure ? limitMeasureToWire(o.measure) : pb.LimitMeasure.UNSPECIFIED,
        currency: o.currency,
        creditsAvailable: o.creditsAvailable,
        cost: o.cost,
      };
    },
    async releaseReservation(req) {
      return { reservation: reservationToWire(await s.checks.release(req.reservationId)) };
    },
    async commitReservation(req) {
      return { reservation: reservationToWire(await s.checks.commit(req.reservationId, req.actualQuantity)) };
    },
    async grantCredits(req) {
      const { grant, status } = await s.credits.grant({
        customerId: req.customerId,
        amount: req.amount ? { currency: req.amount.currency, amount: req.amount.amount } : undefined,
        credits: req.credits,
        creditRate: req.creditRate,
        priority: req.priority,
        effectiveTime: dateOf(req.effectiveTime),
        expireTime: dateOf(req.expireTime),
        idempotencyKey: req.idempotencyKey,
        description: req.description,
      });
      return { grant: grantToWire(grant, status) };
    },
    async voidGrant(req) {
      const { grant, status } = await s.credits.voidGrant(req.grantId, req.reason);
      return { grant: grantToWire(grant, status) };
    },
    async getBalance(req) {
      const b = await s.credits.balance(req.customerId);
      const money = (d: { toFixed(): string } & Parameters<typeof toWire>[0]) => ({ currency: b.currency, amount: toWire(d) });
      return {
        balance: {
          customerId: b.customerId,
          balance: money(b.balance),
          reserved: money(b.reserved),
          available: money(b.available),
          prepaidOnly: b.prepaidOnly,
          depleted: b.depleted,
          grants: b.grants.map(({ grant, status }) => ({
            grantId: grant.id,
            granted: money(grant.amount),
            remaining: money(grant.remaining),
            priority: grant.priority,
            effectiveTime: ts(grant.effectiveTime),
            expireTime: ts(grant.expireTime),
            status: grantToWire(grant, status).status,
          })),
        },
      };
    },
    async listLedgerEntries(req) {
      const page = await s.credits.ledger(req.customerId, req.pageSize, req.pageToken);
      return { entries: page.entries.map(entryToWire), nextPageToken: page.nextPageToken };
    },
    async setCustomerBilling(req) {
      const billing = await s.credits.setPrepaidOnly(req.customerId, req.prepaidOnly);
      if (req.blockOnUncollectible !== undefined) await s.blocks.setBlocking(req.customerId, req.blockOnUncollectible);
      return { billing: { ...billing, ...(await s.blocks.billing(req.customerId)) } };
    },
    async listTriggeredAlerts(req) {
      const page = await s.alerts.list(req.customerId, req.pageSize, req.pageToken);
      return { alerts: page.alerts.map(alertToWire), nextPageToken: page.nextPageToken };
    },
  };
}

function scopeOf(scope: { case: "planKey" | "customerId"; value: string } | { case: undefined; value?: undefined } | undefined): LimitScope | undefined {
  if (!scope?.case) return undefined;
  return scope.case === "planKey" ? { planKey: scope.value } : { customerId: scope.value };
}

/**
 * Scopes. Check, Release and Commit are `ingest`: product services call them
 * on the hot path with the same key they record usage with, and they change
 * state (a reservation), which `read` keys must not. Writes are `admin`,
 * reads `read`.
 */
export const LIMITS_SCOPES = {
  setLimit: "admin",
  getLimits: "read",
  deleteLimit: "admin",
  check: "ingest",
  releaseReservation: "ingest",
  commitReservation: "ingest",
  grantCredits: "admin",
  voidGrant: "admin",
  getBalance: "read",
  listLedgerEntries: "read",
  setCustomerBilling: "admin",
  listTriggeredAlerts: "read",
} as const;

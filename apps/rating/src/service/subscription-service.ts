import { randomUUID } from "node:crypto";
import { checkTimeInput, pageSize, encodePageToken, decodePageToken, enqueue, FailedPreconditionError, InvalidArgumentError, Violations, withTransaction, type ServiceDeps } from "@tally/platform";
import { subscriptionChanged } from "../adapter/outbox-events";
import {
  claimDueSubscriptions,
  getSubscription,
  insertSubscription,
  listSubscriptions,
  lockCustomer,
  subscriptionsOfCustomers,
  updateSubscription,
  type SubscriptionRow,
} from "../adapter/subscription-store";
import { SubscriptionExistsError, SubscriptionNotFoundError } from "../domain/errors";
import type { BillingAnchor } from "../domain/periods";
import { isLive, periodOf, statusAt, type ChangeKind, type ChangeTiming, type SubscriptionFacts } from "../domain/subscription";
import { isValidTimeZone } from "@tally/calendar";
import type { PlanCatalog } from "./plan-catalog";

/** How far back a subscription may start (usage since then is rated). */
export const BACKFILL_WINDOW_MS = 35 * 24 * 3600 * 1000;

/** CreateSubscription's input. Empty strings and 0 mean "not given", as on the wire. */
export interface NewSubscription {
  customerId: string;
  planKey: string;
  /** 0 = the latest version. */
  planVersion: number;
  /** "" = UTC. */
  timeZone: string;
  anchor: BillingAnchor;
  /** Undefined = now. */
  startTime: Date | undefined;
  idempotencyKey: string;
}

export interface PlanChange {
  subscriptionId: string;
  planKey: string;
  /** 0 = the latest version. */
  planVersion: number;
  timing: ChangeTiming | undefined;
  /** IMMEDIATELY only; undefined = now. */
  effectiveTime: Date | undefined;
}

export interface Cancellation {
  subscriptionId: string;
  timing: ChangeTiming | undefined;
}

export interface ListSubscriptionsQuery {
  /** "" = every customer. */
  customerId: string;
  pageSize: number;
  pageToken: string;
}

/** A subscription and the instant it is seen at (status, current period and pending change derive from it). */
export interface SubscriptionView {
  sub: SubscriptionFacts;
  asOf: Date;
}

/**
 * Subscriptions. Rule: a customer has at most one live (PENDING or ACTIVE) subscription; a second
 * CreateSubscription fails with ALREADY_EXISTS ("subscription_exists"). Writes for one customer
 * are serialised with an advisory lock, so two concurrent creates cannot both pass the check.
 */
export class SubscriptionService {
  /**
   * Called after a transaction that changed subscriptions' terms committed (create, plan change,
   * cancel), with their customers: the projection refresher's cue. Must be cheap and not throw.
   */
  readonly changed: Array<(customerIds: string[]) => void> = [];

  constructor(
    private readonly deps: ServiceDeps,
    private readonly catalog: PlanCatalog,
    /** Called after a subscription is created, to rate usage kept unrated for lack of one. */
    private readonly onCreated: (sub: SubscriptionRow) => Promise<void> = async () => undefined,
  ) {}

  async create(req: NewSubscription): Promise<SubscriptionView> {
    const now = this.deps.clock.now();
    const v = new Violations();
    if (req.customerId.length < 1 || req.customerId.length > 255) v.add("customer_id", "must be 1–255 characters", "invalid_length");
    if (!req.planKey) v.add("plan_key", "is required", "required");
    if (req.planVersion < 0) v.add("plan_version", "must be >= 0", "out_of_range");
    const timeZone = req.timeZone || "UTC";
    if (!isValidTimeZone(timeZone)) v.add("time_zone", `unknown IANA time zone ${JSON.stringify(req.timeZone)}`, "unknown_time_zone");
    const startTime = req.startTime ?? now;
    if (checkTimeInput(v, "start_time", startTime) && startTime.getTime() < now.getTime() - BACKFILL_WINDOW_MS) {
      v.add("start_time", "is older than the 35-day backfill window", "out_of_range");
    }
    if (req.idempotencyKey.length > 255) v.add("idempotency_key", "at most 255 characters", "too_long");
    v.throwIfAny();
    const plan = await this.catalog.get(this.deps.pool, req.planKey, req.planVersion);

    const result = await withTransaction(this.deps.pool, async (db) => {
      await lockCustomer(db, req.customerId);
      const existing = await subscriptionsOfCustomers(db, [req.customerId]);
      if (req.idempotencyKey) {
        const same = existing.find((s) => s.idempotencyKey === req.idempotencyKey);
        if (same) return { sub: same, created: false };
      }
      const live = existing.find((s) => isLive(s, now));
      if (live) throw new SubscriptionExistsError(req.customerId, live.id);
      const overlapping = existing.find((s) => s.cancelTime && s.cancelTime.getTime() > startTime.getTime());
      if (overlapping) {
        throw new InvalidArgumentError({ field: "start_time", message: `overlaps subscription ${overlapping.id}, which ended at ${overlapping.cancelTime!.toISOString()}`, code: "not_allowed" });
      }
      const sub: SubscriptionRow = {
        id: `sub_${randomUUID().replace(/-/g, "")}`,
        customerId: req.customerId,
        timeZone,
        anchor: req.anchor,
        startTime,
        cancelTime: null,
        phases: [{ from: startTime, interval: plan.rate.interval }],
        segments: [{ start: startTime, planKey: plan.rate.key, planVersion: plan.rate.version }],
        idempotencyKey: req.idempotencyKey || null,
        createTime: now,
        revision: 1,
        announcedStatus: startTime.getTime() > now.getTime() ? "pending" : "active",
        announcedPeriodEnd: null,
      };
      sub.announcedPeriodEnd = periodOf(sub, now).end;
      await insertSubscription(db, sub);
      await enqueue(db, [subscriptionChanged(sub, "created", now)]);
      return { sub, created: true };
    });
    if (result.created) {
      this.notify([result.sub.customerId]);
      // Best effort: if this fails the readings simply stay listed as unrated.
      await this.onCreated(result.sub).catch((err: unknown) => this.deps.logger.warn("re-rating unrated usage failed", { subscription: result.sub.id, err }));
    }
    return { sub: result.sub, asOf: now };
  }

  async get(id: string): Promise<SubscriptionView> {
    if (!id) throw new InvalidArgumentError({ field: "subscription_id", message: "is required", code: "required" });
    const sub = await getSubscription(this.deps.pool, id);
    if (!sub) throw new SubscriptionNotFoundError("subscription", id);
    return { sub, asOf: this.deps.clock.now() };
  }

  async list(req: ListSubscriptionsQuery): Promise<{ subscriptions: SubscriptionView[]; nextPageToken: string }> {
    const limit = pageSize(req.pageSize);
    const cursor = decodePageToken(req.pageToken, ["t", "id"]);
    const rows = await listSubscriptions(this.deps.pool, req.customerId, cursor && { createTime: new Date(cursor.t!), id: cursor.id! }, limit + 1);
    const page = rows.slice(0, limit);
    const now = this.deps.clock.now();
    const last = page[page.length - 1];
    return {
      subscriptions: page.map((sub) => ({ sub, asOf: now })),
      nextPageToken: rows.length > limit && last ? encodePageToken({ t: last.createTime.toISOString(), id: last.id }) : "",
    };
  }

  /**
   * IMMEDIATELY: a new plan segment starts now, splitting the current period (each segment is
   * rated with its own plan). AT_PERIOD_END: a segment starting at the period end, replacing any
   * pending change. A PENDING subscription simply starts on the new plan.
   *
   * A backdated effective_time is rejected: usage already rated in the current segment is not
   * moved between segments (that needs per-event history; see README, "What is left").
   */
  async changePlan(req: PlanChange): Promise<SubscriptionView> {
    const now = this.deps.clock.now();
    const v = new Violations();
    if (!req.subscriptionId) v.add("subscription_id", "is required", "required");
    if (!req.planKey) v.add("plan_key", "is required", "required");
    if (!req.timing) v.add("timing", "is required (IMMEDIATELY or AT_PERIOD_END)", "required");
    v.throwIfAny();
    const plan = await this.catalog.get(this.deps.pool, req.planKey, req.planVersion);
    return this.mutate(req.subscriptionId, now, async (sub) => {
      if (statusAt(sub, now) === "canceled") throw new FailedPreconditionError(`subscription ${sub.id} is canceled`, "subscription_canceled");
      const current = await this.catalog.get(this.deps.pool, sub.segments[0]!.planKey, sub.segments[0]!.planVersion);
      if (plan.rate.currency !== current.rate.currency) {
        throw new InvalidArgumentError({ field: "plan_key", message: `plan currency ${plan.rate.currency} differs from the subscription's ${current.rate.currency}`, code: "not_allowed" });
      }
      const period = periodOf(sub, now);
      clearPending(sub, now);
      if (req.timing === "immediately") {
        const currentInterval = sub.phases[sub.phases.length - 1]!.interval;
        if (plan.rate.interval !== currentInterval) {
          throw new InvalidArgumentError({ field: "timing", message: "a plan with another billing interval can only be applied AT_PERIOD_END", code: "not_allowed" });
        }
        const effective = req.effectiveTime ?? now;
        if (!checkTimeInput(v, "effective_time", effective)) v.throwIfAny();
        if (effective.getTime() > now.getTime()) v.add("effective_time", "must not be in the future", "in_future");
        if (statusAt(sub, now) !== "pending" && effective.getTime() < period.start.getTime()) v.add("effective_time", "must be within the current period", "out_of_range");
        else if (effective.getTime() < now.getTime()) {
          v.add("effective_time", "backdated changes are not supported: usage already rated is not moved between segments (omit it to change now)", "not_allowed");
        }
        v.throwIfAny();
        const last = sub.segments[sub.segments.length - 1]!;
        const next = { start: last.start, planKey: plan.rate.key, planVersion: plan.rate.version };
        if (statusAt(sub, now) === "pending" || last.start.getTime() >= now.getTime()) sub.segments[sub.segments.length - 1] = next;
        else sub.segments.push({ ...next, start: now });
        return "plan_changed";
      }
      sub.segments.push({ start: period.end, planKey: plan.rate.key, planVersion: plan.rate.version });
      const interval = sub.phases[sub.phases.length - 1]!.interval;
      if (plan.rate.interval !== interval) sub.phases.push({ from: period.end, interval: plan.rate.interval });
      return "change_scheduled";
    });
  }

  async cancel(req: Cancellation): Promise<SubscriptionView> {
    const now = this.deps.clock.now();
    const v = new Violations();
    if (!req.subscriptionId) v.add("subscription_id", "is required", "required");
    if (!req.timing) v.add("timing", "is required (IMMEDIATELY or AT_PERIOD_END)", "required");
    v.throwIfAny();
    return this.mutate(req.subscriptionId, now, async (sub) => {
      if (statusAt(sub, now) === "canceled") return undefined;
      const period = periodOf(sub, now);
      clearPending(sub, now);
      if (req.timing === "immediately") {
        // A PENDING subscription canceled before it starts ends at its start (no period at all).
        sub.cancelTime = statusAt(sub, now) === "pending" ? sub.startTime : now;
        sub.announcedStatus = "canceled";
        return "canceled";
      }
      sub.cancelTime = period.end;
      return "change_scheduled";
    });
  }

  /** Locks, applies `change`, bumps the revision and publishes; `undefined` = nothing changed. */
  private async mutate(id: string, now: Date, change: (sub: SubscriptionRow) => Promise<ChangeKind | undefined>): Promise<SubscriptionView> {
    const result = await withTransaction(this.deps.pool, async (db) => {
      const sub = await getSubscription(db, id, true);
      if (!sub) throw new SubscriptionNotFoundError("subscription", id);
      const kind = await change(sub);
      if (kind === undefined) return { sub, asOf: now, changed: false };
      sub.revision += 1;
      sub.announcedPeriodEnd = periodOf(sub, now).end;
      await updateSubscription(db, sub);
      await enqueue(db, [subscriptionChanged(sub, kind, now)]);
      return { sub, asOf: now, changed: true };
    });
    if (result.changed) this.notify([result.sub.customerId]);
    return { sub: result.sub, asOf: result.asOf };
  }

  private notify(customerIds: string[]): void {
    for (const f of this.changed) f(customerIds);
  }

  /**
   * Announces what time alone changed: a PENDING subscription starting, a new period starting
   * (with a scheduled plan change taking effect), a scheduled cancellation ending it. Rating
   * itself never waits for this (periods are derived from the event time); it is for
   * subscribers of subscription.changed. Safe with several instances (SKIP LOCKED).
   */
  async advance(limit = 100): Promise<number> {
    const now = this.deps.clock.now();
    return withTransaction(this.deps.pool, async (db) => {
      const due = await claimDueSubscriptions(db, now, limit);
      const messages = [];
      for (const sub of due) {
        const status = statusAt(sub, now);
        const before = sub.announcedPeriodEnd;
        let kind: ChangeKind;
        if (status === "canceled") kind = "canceled";
        else if (before && sub.segments.some((s) => s.start.getTime() === before.getTime())) kind = "plan_changed";
        else kind = "period_started";
        sub.announcedStatus = status;
        sub.announcedPeriodEnd = periodOf(sub, now).end;
        sub.revision += 1;
        await updateSubscription(db, sub);
        messages.push(subscriptionChanged(sub, kind, now));
      }
      await enqueue(db, messages);
      return due.length;
    });
  }
}

/** Drops a change scheduled for a later boundary (future segments, phases, cancellation). */
function clearPending(sub: SubscriptionRow, now: Date): void {
  const t = now.getTime();
  sub.segments = sub.segments.filter((s, i) => i === 0 || s.start.getTime() <= t);
  sub.phases = sub.phases.filter((p, i) => i === 0 || p.from.getTime() <= t);
  if (sub.cancelTime && sub.cancelTime.getTime() > t) sub.cancelTime = null;
}

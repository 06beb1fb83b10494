import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { rating } from "@tally/contracts";
import { renderFields, renderTable } from "../format/table";
import { formatTime, parseTime } from "../format/time";
import { enumChoice, enumName, positiveInt } from "../options";
import type { Session } from "../session";
import { allPages } from "./paging";

export function registerSubscriptionCommands(program: Command, session: Session): void {
  const subs = program.command("subscriptions").alias("subs").description("put customers on plans, change and cancel (rating)");

  subs
    .command("create <customer>")
    .description("subscribe a customer to a plan")
    .requiredOption("--plan <key>", "plan key")
    .option("--plan-version <n>", "plan version (default the latest)", positiveInt())
    .option("--start <time>", "billing start, RFC 3339 or a span ago such as 3d (default now)")
    .option("--time-zone <iana>", "time zone of period boundaries (default UTC)")
    .option("--anchor <anchor>", "calendar or anniversary", enumChoice(rating.BillingAnchor))
    .option("--idempotency-key <key>", "makes a retry return the subscription the first call created")
    .action(async (customerId: string, o: { plan: string; planVersion?: number; start?: string; timeZone?: string; anchor?: rating.BillingAnchor; idempotencyKey?: string }) => {
      const response = await session.client("rating").createSubscription({
        customerId,
        planKey: o.plan,
        planVersion: o.planVersion ?? 0,
        ...(o.start ? { startTime: timestampFromDate(parseTime(o.start, "--start")) } : {}),
        timeZone: o.timeZone ?? "",
        anchor: o.anchor ?? rating.BillingAnchor.UNSPECIFIED,
        idempotencyKey: o.idempotencyKey ?? "",
      });
      session.out.message(rating.CreateSubscriptionResponseSchema, response, () => renderSubscription(response.subscription!));
    });

  subs
    .command("get <id>")
    .description("show a subscription")
    .action(async (subscriptionId: string) => {
      const response = await session.client("rating").getSubscription({ subscriptionId });
      session.out.message(rating.GetSubscriptionResponseSchema, response, () => renderSubscription(response.subscription!));
    });

  subs
    .command("list")
    .description("subscriptions, newest first")
    .option("--customer <id>", "only this customer's")
    .action(async (o: { customer?: string }) => {
      const list = await listSubscriptions(session, o.customer ?? "");
      session.out.message(rating.ListSubscriptionsResponseSchema, create(rating.ListSubscriptionsResponseSchema, { subscriptions: list }), () => renderSubscriptionTable(list));
    });

  subs
    .command("change <id>")
    .description("move a subscription to another plan (now, splitting the period, or at period end)")
    .requiredOption("--plan <key>", "new plan key")
    .option("--plan-version <n>", "new plan version (default the latest)", positiveInt())
    .option("--at-period-end", "schedule the change for the end of the current period")
    .option("--effective <time>", "for an immediate change: where the period is split (default now)")
    .action(async (subscriptionId: string, o: { plan: string; planVersion?: number; atPeriodEnd?: boolean; effective?: string }) => {
      const response = await session.client("rating").changePlan({
        subscriptionId,
        planKey: o.plan,
        planVersion: o.planVersion ?? 0,
        timing: o.atPeriodEnd ? rating.ChangeTiming.AT_PERIOD_END : rating.ChangeTiming.IMMEDIATELY,
        ...(o.effective ? { effectiveTime: timestampFromDate(parseTime(o.effective, "--effective")) } : {}),
      });
      session.out.message(rating.ChangePlanResponseSchema, response, () => renderSubscription(response.subscription!));
    });

  subs
    .command("cancel <id>")
    .description("cancel a subscription now (prorating the fee) or at period end")
    .option("--at-period-end", "cancel when the current period ends")
    .action(async (subscriptionId: string, o: { atPeriodEnd?: boolean }) => {
      const response = await session.client("rating").cancelSubscription({
        subscriptionId,
        timing: o.atPeriodEnd ? rating.ChangeTiming.AT_PERIOD_END : rating.ChangeTiming.IMMEDIATELY,
      });
      session.out.message(rating.CancelSubscriptionResponseSchema, response, () => renderSubscription(response.subscription!));
    });
}

export async function listSubscriptions(session: Session, customerId: string): Promise<rating.Subscription[]> {
  const client = session.client("rating");
  return allPages(async (pageToken) => {
    const page = await client.listSubscriptions({ customerId, pageToken, pageSize: 1000 });
    return { items: page.subscriptions, nextPageToken: page.nextPageToken };
  });
}

export function renderSubscriptionTable(list: rating.Subscription[]): string {
  return renderTable(
    ["id", "customer", "plan", "status", "current period"],
    list.map((s) => [s.id, s.customerId, `${s.planKey} v${s.planVersion}`, enumName(rating.SubscriptionStatus, s.status), period(s)]),
  );
}

function period(s: rating.Subscription): string {
  return s.currentPeriod ? `${formatTime(s.currentPeriod.start)} → ${formatTime(s.currentPeriod.end)}` : "";
}

function renderSubscription(s: rating.Subscription): string {
  const pending = s.pendingChange;
  return renderFields([
    ["id", s.id],
    ["customer", s.customerId],
    ["plan", `${s.planKey} v${s.planVersion}`],
    ["status", enumName(rating.SubscriptionStatus, s.status)],
    ["time zone", s.timeZone],
    ["anchor", enumName(rating.BillingAnchor, s.anchor)],
    ["start", formatTime(s.startTime)],
    ["current period", period(s)],
    ["segments", s.segments.map((g) => `${g.planKey} v${g.planVersion} from ${formatTime(g.range?.start)}`).join("; ")],
    [
      "pending change",
      pending && pending.kind !== rating.PendingChangeKind.UNSPECIFIED
        ? `${enumName(rating.PendingChangeKind, pending.kind)}${pending.planKey ? ` to ${pending.planKey} v${pending.planVersion}` : ""} at ${formatTime(pending.effectiveTime)}`
        : undefined,
    ],
    ["canceled", formatTime(s.cancelTime)],
  ]);
}

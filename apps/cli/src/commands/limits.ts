import { create } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { limits } from "@tally/contracts";
import { bar } from "../format/bars";
import { progressWithin } from "../format/ratio";
import { renderFields, renderTable } from "../format/table";
import { collect, enumChoice, enumName } from "../options";
import type { Session } from "../session";
import { UsageError } from "../usage-error";

export function registerLimitCommands(program: Command, session: Session): void {
  const cmd = program.command("limits").description("hard caps, soft limits and their alerts (limits)");

  cmd
    .command("set")
    .description("create or replace the limit of a plan or customer on one meter")
    .requiredOption("--meter <key>", "meter the limit counts")
    .option("--customer <id>", "a customer's own limit (overrides the plan's)")
    .option("--plan <key>", "the limit of every subscriber of a plan")
    .option("--kind <kind>", "hard_cap (deny) or soft_limit (alert only)", enumChoice(limits.LimitKind), limits.LimitKind.HARD_CAP)
    .option("--measure <measure>", "units or spend", enumChoice(limits.LimitMeasure), limits.LimitMeasure.UNITS)
    .requiredOption("--value <decimal>", "the limit, in meter units or in --currency")
    .option("--currency <iso>", "currency of a spend limit")
    .option("--alert <threshold>", "alert at a percent (80%) or an absolute value (1000); repeatable", collect)
    .action(async (o: { meter: string; customer?: string; plan?: string; kind: limits.LimitKind; measure: limits.LimitMeasure; value: string; currency?: string; alert?: string[] }) => {
      const response = await session.client("limits").setLimit({
        limit: {
          scope: scope(o),
          meterKey: o.meter,
          kind: o.kind,
          measure: o.measure,
          value: o.value,
          currency: o.currency ?? "",
          alerts: (o.alert ?? []).map((a) => ({ threshold: a.endsWith("%") ? { case: "percent", value: a.slice(0, -1) } : { case: "absolute", value: a } })),
        },
      });
      session.out.message(limits.SetLimitResponseSchema, response, () => renderLimitTable([response.limit!]));
    });

  cmd
    .command("list")
    .description("limits of a plan or a customer")
    .option("--customer <id>", "the customer's own limits")
    .option("--plan <key>", "the plan's limits")
    .action(async (o: { customer?: string; plan?: string }) => {
      const response = await session.client("limits").getLimits({ scope: scope(o) });
      session.out.message(limits.GetLimitsResponseSchema, response, () => renderLimitTable(response.limits));
    });

  cmd
    .command("delete <id>")
    .description("remove a limit")
    .action(async (id: string) => {
      const response = await session.client("limits").deleteLimit({ id });
      session.out.message(limits.DeleteLimitResponseSchema, response, () => `deleted limit ${id}\n`);
    });

  cmd
    .command("check <customer>")
    .description("would this much more usage be allowed? (a denial is an answer, exit code 0)")
    .requiredOption("--meter <key>", "meter")
    .option("--quantity <decimal>", "units about to be used", "0")
    .action(async (customerId: string, o: { meter: string; quantity: string }) => {
      const response = await session.client("limits").check({ customerId, meterKey: o.meter, quantity: o.quantity });
      session.out.message(limits.CheckResponseSchema, response, () => renderCheck(response));
    });

  cmd
    .command("alerts <customer>")
    .description("alerts that fired for a customer")
    .action(async (customerId: string) => {
      const response = await session.client("limits").listTriggeredAlerts({ customerId, pageSize: 1000 });
      session.out.message(limits.ListTriggeredAlertsResponseSchema, create(limits.ListTriggeredAlertsResponseSchema, { alerts: response.alerts }), () =>
        renderTable(
          ["limit", "meter", "threshold", "observed", "limit value"],
          response.alerts.map((a) => [a.limitId, a.meterKey, a.thresholdValue, a.observedValue, a.limitValue]),
        ),
      );
    });
}

function scope(o: { customer?: string; plan?: string }): limits.Limit["scope"] {
  if ((o.customer === undefined) === (o.plan === undefined)) throw new UsageError("give exactly one of --customer and --plan");
  return o.customer !== undefined ? { case: "customerId", value: o.customer } : { case: "planKey", value: o.plan! };
}

function renderLimitTable(list: limits.Limit[]): string {
  return renderTable(
    ["id", "scope", "meter", "kind", "measure", "value", "alerts"],
    list.map((l) => [
      l.id,
      l.scope.case === "customerId" ? `customer ${l.scope.value}` : l.scope.case === "planKey" ? `plan ${l.scope.value}` : "",
      l.meterKey,
      enumName(limits.LimitKind, l.kind),
      enumName(limits.LimitMeasure, l.measure),
      `${l.value}${l.currency ? ` ${l.currency}` : ""}`,
      l.alerts.map((a) => (a.threshold.case === "percent" ? `${a.threshold.value}%` : (a.threshold.value ?? ""))).join(", "),
    ]),
  );
}

function renderCheck(r: limits.CheckResponse): string {
  const limited = r.limit !== "";
  return renderFields([
    ["allowed", r.allowed ? "yes" : `no (${enumName(limits.DenyReason, r.reason)})`],
    ["limit", limited ? `${r.limit}${r.currency ? ` ${r.currency}` : ""} (${enumName(limits.LimitMeasure, r.measure)})` : "none"],
    ["used", limited ? `${r.currentUsage} ${bar(progressWithin(r.currentUsage, "0", r.limit), 20)}` : r.currentUsage],
    ["reserved", r.reserved],
    ["remaining", r.remaining],
    ["soft limit exceeded", r.softLimitExceeded ? "yes" : undefined],
    ["credits available", r.creditsAvailable],
    ["cost", r.cost],
  ]);
}

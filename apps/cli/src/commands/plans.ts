import { create } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { rating } from "@tally/contracts";
import { describePricing } from "../format/price";
import { renderFields, renderTable } from "../format/table";
import { formatTime } from "../format/time";
import { enumName, positiveInt } from "../options";
import type { Session } from "../session";
import { readPlanFile } from "../plan-file/read-plan-file";
import { allPages } from "./paging";

export function registerPlanCommands(program: Command, session: Session): void {
  const plans = program.command("plans").description("plans: versioned rate cards (rating)");

  plans
    .command("create <file>")
    .description("create a plan from a YAML or JSON file (the tally.rating.v1.Plan JSON mapping)")
    .action(async (file: string) => {
      const response = await session.client("rating").createPlan({ plan: readPlanFile(session.io.cwd, file) });
      session.out.message(rating.CreatePlanResponseSchema, response, () => renderPlan(response.plan!));
    });

  plans
    .command("update <file>")
    .description("publish the next version of a plan from a YAML or JSON file")
    .option("--expected-version <n>", "fail (ABORTED) unless this is the latest version", positiveInt())
    .action(async (file: string, o: { expectedVersion?: number }) => {
      const response = await session.client("rating").updatePlan({ plan: readPlanFile(session.io.cwd, file), expectedVersion: o.expectedVersion ?? 0 });
      session.out.message(rating.UpdatePlanResponseSchema, response, () => renderPlan(response.plan!));
    });

  plans
    .command("list")
    .description("latest version of every plan, or every version of one")
    .option("--plan <key>", "list the versions of this plan")
    .action(async (o: { plan?: string }) => {
      const client = session.client("rating");
      const list = await allPages(async (pageToken) => {
        const page = await client.listPlans({ pageToken, pageSize: 1000, key: o.plan ?? "" });
        return { items: page.plans, nextPageToken: page.nextPageToken };
      });
      session.out.message(rating.ListPlansResponseSchema, create(rating.ListPlansResponseSchema, { plans: list }), () =>
        renderTable(
          ["key", "version", "name", "currency", "interval", "components"],
          list.map((p) => [p.key, p.version, p.name, p.currency, enumName(rating.BillingInterval, p.billingInterval), p.components.length]),
        ),
      );
    });

  plans
    .command("get <key>")
    .description("show a plan")
    .option("--version <n>", "this version instead of the latest", positiveInt())
    .action(async (key: string, o: { version?: number }) => {
      const response = await session.client("rating").getPlan({ key, version: o.version ?? 0 });
      session.out.message(rating.GetPlanResponseSchema, response, () => renderPlan(response.plan!));
    });
}

function renderPlan(p: rating.Plan): string {
  const fee = p.recurringFee;
  return (
    renderFields([
      ["key", p.key],
      ["version", p.version],
      ["name", p.name],
      ["currency", p.currency],
      ["interval", enumName(rating.BillingInterval, p.billingInterval)],
      ["recurring fee", fee && fee.amount !== "" ? `${fee.amount} ${enumName(rating.FeeTiming, fee.timing)}` : undefined],
      ["created", formatTime(p.createTime)],
    ]) + renderTable(["component", "meter", "pricing"], p.components.map((c) => [c.key, c.meterKey, describePricing(c)]))
  );
}

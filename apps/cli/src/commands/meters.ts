import { create } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { metering } from "@tally/contracts";
import { renderFields, renderTable } from "../format/table";
import { formatTime } from "../format/time";
import { collect, commaList, enumChoice, enumName } from "../options";
import type { Session } from "../session";
import { UsageError } from "../usage-error";
import { allPages } from "./paging";

export function registerMeterCommands(program: Command, session: Session): void {
  const meters = program.command("meters").description("meter definitions (metering)");

  meters
    .command("create <key>")
    .description("create a meter (re-running with the same definition is harmless)")
    .requiredOption("--event-type <type>", "event type the meter reads, e.g. llm.completion")
    .requiredOption("--aggregation <kind>", "count, sum, max, unique_count or latest", enumChoice(metering.Aggregation))
    .option("--value-property <name>", "property holding the value (all but count)")
    .option("--group-by <names>", "comma-separated properties to split by, e.g. model", commaList)
    .option("--filter <property=v1,v2>", "only events whose property has one of the values (repeatable)", collect)
    .option("--allow-negative", "accept negative values (sum, max, latest)")
    .option("--description <text>", "for humans")
    .action(async (key: string, o: { eventType: string; aggregation: metering.Aggregation; valueProperty?: string; groupBy?: string[]; filter?: string[]; allowNegative?: boolean; description?: string }) => {
      const response = await session.client("metering").createMeter({
        meter: {
          key,
          eventType: o.eventType,
          aggregation: o.aggregation,
          valueProperty: o.valueProperty ?? "",
          groupBy: o.groupBy ?? [],
          filters: (o.filter ?? []).map(parseFilter),
          allowNegative: o.allowNegative === true,
          description: o.description ?? "",
        },
      });
      session.out.message(metering.CreateMeterResponseSchema, response, () => renderMeter(response.meter!));
    });

  meters
    .command("list")
    .description("list meters by key")
    .option("--archived", "include archived meters")
    .action(async (o: { archived?: boolean }) => {
      const client = session.client("metering");
      const list = await allPages(async (pageToken) => {
        const page = await client.listMeters({ pageToken, pageSize: 1000, includeArchived: o.archived === true });
        return { items: page.meters, nextPageToken: page.nextPageToken };
      });
      const response = create(metering.ListMetersResponseSchema, { meters: list });
      session.out.message(metering.ListMetersResponseSchema, response, () =>
        renderTable(
          ["key", "event type", "aggregation", "value property", "group by", "state"],
          list.map((m) => [m.key, m.eventType, enumName(metering.Aggregation, m.aggregation), m.valueProperty, m.groupBy.join(", "), enumName(metering.MeterState, m.state)]),
        ),
      );
    });

  meters
    .command("get <key>")
    .description("show one meter")
    .action(async (key: string) => {
      const response = await session.client("metering").getMeter({ key });
      session.out.message(metering.GetMeterResponseSchema, response, () => renderMeter(response.meter!));
    });

  meters
    .command("archive <key>")
    .description("stop a meter from counting new events (its history stays)")
    .action(async (key: string) => {
      const response = await session.client("metering").archiveMeter({ key });
      session.out.message(metering.ArchiveMeterResponseSchema, response, () => renderMeter(response.meter!));
    });
}

function parseFilter(text: string): { property: string; values: string[] } {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new UsageError(`--filter ${JSON.stringify(text)}: expected property=value[,value…]`);
  return { property: text.slice(0, eq), values: commaList(text.slice(eq + 1)) };
}

function renderMeter(m: metering.MeterDefinition): string {
  return renderFields([
    ["key", m.key],
    ["event type", m.eventType],
    ["aggregation", enumName(metering.Aggregation, m.aggregation)],
    ["value property", m.valueProperty],
    ["group by", m.groupBy.join(", ")],
    ["filters", m.filters.map((f) => `${f.property} in (${f.values.join(", ")})`).join("; ")],
    ["allow negative", m.allowNegative ? "yes" : undefined],
    ["description", m.description],
    ["state", enumName(metering.MeterState, m.state)],
    ["created", formatTime(m.createTime)],
    ["archived", formatTime(m.archiveTime)],
  ]);
}

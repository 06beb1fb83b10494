import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { metering } from "@tally/contracts";
import { aggregationFromProto } from "../adapter/proto-meter";
import type { MeterInput } from "../domain/meter-validation";
import type { EventOutcome } from "../domain/record-outcome";
import type { UsageQueryInput, WindowSize } from "../domain/usage-query";
import type { UsageRow } from "../service/query-service";

/** Proto requests → domain inputs and domain results → proto responses; no rules here. */

export function meterInputFromProto(meter: metering.MeterDefinition): MeterInput {
  return {
    key: meter.key,
    eventType: meter.eventType,
    aggregation: aggregationFromProto(meter.aggregation),
    valueProperty: meter.valueProperty,
    groupBy: meter.groupBy,
    filters: meter.filters.map((f) => ({ property: f.property, values: f.values })),
    allowNegative: meter.allowNegative,
    description: meter.description,
  };
}

type EventResultInit = MessageInitShape<typeof metering.EventResultSchema>;

export function eventResultToProto(eventId: string, outcome: EventOutcome): EventResultInit {
  switch (outcome.status) {
    case "accepted":
      return { eventId, status: metering.EventStatus.ACCEPTED };
    case "duplicate":
      return { eventId, status: metering.EventStatus.DUPLICATE };
    case "conflict":
      return { eventId, status: metering.EventStatus.CONFLICT, code: "idempotency_conflict", reason: outcome.message };
    case "rejected": {
      const first = outcome.violations[0];
      return {
        eventId,
        status: metering.EventStatus.REJECTED,
        field: first?.field ?? "",
        code: first?.code ?? "invalid_argument",
        reason: outcome.violations.map((v) => `${v.field}: ${v.message}`).join("; "),
      };
    }
  }
}

const WINDOWS: Partial<Record<metering.WindowSize, WindowSize>> = {
  [metering.WindowSize.UNSPECIFIED]: "none",
  [metering.WindowSize.NONE]: "none",
  [metering.WindowSize.HOUR]: "hour",
  [metering.WindowSize.DAY]: "day",
};

export function usageQueryFromProto(req: metering.QueryUsageRequest): UsageQueryInput {
  return {
    customerId: req.customerId,
    meterKey: req.meterKey,
    from: req.from ? { seconds: req.from.seconds, nanos: req.from.nanos } : undefined,
    to: req.to ? { seconds: req.to.seconds, nanos: req.to.nanos } : undefined,
    windowSize: WINDOWS[req.windowSize],
    timeZone: req.timeZone,
    groupBy: req.groupBy,
  };
}

export function usageRowToProto(row: UsageRow): MessageInitShape<typeof metering.UsageRowSchema> {
  return {
    windowStart: timestampFromDate(row.windowStart),
    windowEnd: timestampFromDate(row.windowEnd),
    group: row.group,
    value: row.value,
  };
}

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { common, invoicing, limits, metering, payments, rating } from "./index";

const packages = ["common", "metering", "rating", "limits", "invoicing", "payments"] as const;

describe("@tally/contracts", () => {
  // The per-package barrels are written by hand; this catches a new .proto
  // file whose generated module was not added to its namespace.
  it.each(packages)("re-exports every generated file of tally.%s.v1", (pkg) => {
    const dir = join(__dirname, "gen", "tally", pkg, "v1");
    const generated = readdirSync(dir)
      .filter((f) => f.endsWith("_pb.ts"))
      .map((f) => `./gen/tally/${pkg}/v1/${f.replace(/\.ts$/, "")}`);
    const barrel = readFileSync(join(__dirname, `${pkg}.ts`), "utf8");
    const exported = [...barrel.matchAll(/export \* from "([^"]+)";/g)].map((m) => m[1]);
    expect(exported.sort()).toEqual(generated.sort());
  });

  it("exposes one service descriptor per service, named as in the proto", () => {
    expect(metering.Meter.typeName).toBe("tally.metering.v1.Meter");
    expect(rating.Rating.typeName).toBe("tally.rating.v1.Rating");
    expect(limits.Limits.typeName).toBe("tally.limits.v1.Limits");
    expect(invoicing.Invoicing.typeName).toBe("tally.invoicing.v1.Invoicing");
    expect(payments.Payments.typeName).toBe("tally.payments.v1.Payments");
    expect(Object.keys(metering.Meter.method)).toEqual([
      "record",
      "recordBatch",
      "createMeter",
      "getMeter",
      "listMeters",
      "archiveMeter",
      "queryUsage",
    ]);
  });

  it("round-trips a UsageRecorded event with decimal strings intact", () => {
    const event = create(metering.UsageRecordedSchema, {
      meta: {
        id: "batch_1",
        source: "tally.metering",
        subject: "tally.metering.v1.usage.recorded",
        time: timestampFromDate(new Date("2025-05-01T00:00:00Z")),
      },
      events: [
        {
          id: "evt_1",
          customerId: "cus_1",
          eventType: "llm.completion",
          properties: { model: "gpt-4o", tokens: "0.000000000001" },
          readings: [
            { meterKey: "tokens", aggregation: metering.Aggregation.SUM, value: "0.000000000001", group: { model: "gpt-4o" } },
          ],
        },
      ],
    });
    const decoded = fromBinary(metering.UsageRecordedSchema, toBinary(metering.UsageRecordedSchema, event));
    expect(decoded.meta?.subject).toBe("tally.metering.v1.usage.recorded");
    expect(decoded.events[0]?.readings[0]?.value).toBe("0.000000000001");
  });

  it("keeps names that several packages share apart by namespace", () => {
    expect(rating.InvoiceLineSchema.typeName).toBe("tally.rating.v1.InvoiceLine");
    expect(invoicing.InvoiceLineSchema.typeName).toBe("tally.invoicing.v1.InvoiceLine");
    expect(common.MoneySchema.typeName).toBe("tally.common.v1.Money");
  });

  it("models a price as a oneof over the pricing models", () => {
    const price = create(rating.PriceSchema, {
      model: { case: "graduated", value: { tiers: [{ upTo: "1000", unitAmount: "0" }, { unitAmount: "0.002" }] } },
      includedUnits: "",
    });
    expect(price.model.case).toBe("graduated");
  });
});

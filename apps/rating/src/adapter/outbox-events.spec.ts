import { fromBinary } from "@bufbuild/protobuf";
import { rating } from "@tally/contracts";
import { Decimal } from "@tally/pricing";
import type { RunningAmountDraft } from "../domain/usage-rating";
import { usageRated } from "./outbox-events";

describe("usage.rated ids", () => {
  const period = { start: new Date("2026-04-01T00:00:00Z"), end: new Date("2026-05-01T00:00:00Z") };
  const running: RunningAmountDraft = {
    headKey: "h",
    key: { subscriptionId: "sub_1", componentKey: "tok", dimensionValue: "", periodStart: period.start, segmentStart: period.start },
    customerId: "c1",
    planKey: "p",
    planVersion: 1,
    meterKey: "tokens",
    period,
    quantity: new Decimal(10),
    amount: new Decimal("1.5"),
    currency: "USD",
  };

  it("derives the id from the amounts published, so a re-publication is de-duplicated", () => {
    const first = usageRated([running], [7n], new Date("2026-04-01T00:00:00Z"));
    const again = usageRated([running], [7n], new Date("2026-04-01T00:05:00Z"));
    expect(again.msgId).toBe(first.msgId);
    expect(fromBinary(rating.UsageRatedSchema, first.payload).meta!.id).toBe(first.msgId);
    expect(usageRated([running], [8n], new Date("2026-04-01T00:00:00Z")).msgId).not.toBe(first.msgId);
  });
});

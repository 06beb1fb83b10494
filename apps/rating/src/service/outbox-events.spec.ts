import { fromBinary } from "@bufbuild/protobuf";
import { rating } from "@tally/contracts";
import { usageRated } from "./outbox-events";

describe("usage.rated ids", () => {
  const amount = (sequence: bigint) => ({
    customerId: "c1",
    subscriptionId: "sub_1",
    planKey: "p",
    planVersion: 1,
    componentKey: "tok",
    meterKey: "tokens",
    quantity: "10",
    amount: "1.5",
    currency: "USD",
    sequence,
  });

  it("derives the id from the amounts published, so a re-publication is de-duplicated", () => {
    const first = usageRated([amount(7n)], new Date("2026-04-01T00:00:00Z"));
    const again = usageRated([amount(7n)], new Date("2026-04-01T00:05:00Z"));
    expect(again.msgId).toBe(first.msgId);
    expect(fromBinary(rating.UsageRatedSchema, first.payload).meta!.id).toBe(first.msgId);
    expect(usageRated([amount(8n)], new Date("2026-04-01T00:00:00Z")).msgId).not.toBe(first.msgId);
  });
});

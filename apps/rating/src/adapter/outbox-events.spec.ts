import { fromBinary } from "@bufbuild/protobuf";
import { rating } from "@tally/contracts";
import { Decimal } from "@tally/pricing";
import type { RunningAmountDraft } from "../domain/usage-rating";
import { MAX_RATED_BYTES, usageRated } from "./outbox-events";

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
    const [first] = usageRated([running], [7n], new Date("2026-04-01T00:00:00Z"));
    const [again] = usageRated([running], [7n], new Date("2026-04-01T00:05:00Z"));
    expect(again!.msgId).toBe(first!.msgId);
    expect(fromBinary(rating.UsageRatedSchema, first!.payload).meta!.id).toBe(first!.msgId);
    expect(usageRated([running], [8n], new Date("2026-04-01T00:00:00Z"))[0]!.msgId).not.toBe(first!.msgId);
  });

  it("splits a batch too large for one NATS message into parts under the bound, every amount once and in order", () => {
    // 20,000 customers rated in one transaction: about 2.5 MB of amounts, over NATS's 1 MiB max_payload.
    const many = Array.from({ length: 20_000 }, (_, i) => ({ ...running, customerId: `customer_${i}`, key: { ...running.key, subscriptionId: `sub_${i}` } }));
    const sequences = many.map((_, i) => BigInt(i + 1));
    const now = new Date("2026-04-01T00:00:00Z");
    const parts = usageRated(many, sequences, now);
    expect(parts.length).toBeGreaterThan(2);
    for (const p of parts) expect(p.payload.length).toBeLessThan(MAX_RATED_BYTES + 1024);
    const amounts = parts.flatMap((p) => fromBinary(rating.UsageRatedSchema, p.payload).amounts);
    expect(amounts.map((a) => a.sequence)).toEqual(sequences);
    expect(new Set(parts.map((p) => p.msgId)).size).toBe(parts.length);
    expect(usageRated(many, sequences, now).map((p) => p.msgId)).toEqual(parts.map((p) => p.msgId));
  });
});

import { metering } from "@tally/contracts";
import { scrapeMetric } from "@tally/platform/testing";
import { startMetering, type EventInit, type MeteringHarness } from "../testing/metering-harness";

const OUTCOMES = ["accepted", "duplicate", "conflict", "rejected"] as const;

describe("tally_events_total on /metrics", () => {
  let h: MeteringHarness;
  beforeAll(async () => {
    h = await startMetering();
    await h.admin.createMeter({ meter: { key: "calls", eventType: "llm", aggregation: metering.Aggregation.COUNT } });
  });
  afterAll(() => h.close());

  const counts = async () => Object.fromEntries(await Promise.all(OUTCOMES.map(async (o) => [o, await scrapeMetric(h.service, "tally_events_total", { outcome: o })] as const)));

  it("moves by exactly the outcomes of the traffic sent", async () => {
    const before = await counts();
    const stored: EventInit = { id: "m_1", customerId: "c", eventType: "llm" };
    await h.ingest.record({ event: stored });
    await h.ingest.recordBatch({
      events: [
        { id: "m_2", customerId: "c", eventType: "llm" },
        stored, // duplicate
        { ...stored, customerId: "other" }, // conflict
        { id: "", customerId: "c", eventType: "llm" }, // rejected
        { id: "m_3", customerId: "", eventType: "llm" }, // rejected
      ],
    });
    const after = await counts();
    expect(OUTCOMES.map((o) => after[o]! - before[o]!)).toEqual([2, 1, 1, 2]);
  });
});

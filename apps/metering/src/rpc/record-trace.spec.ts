import { metering, SUBJECTS } from "@tally/contracts";
import { parseTraceparent } from "@tally/platform";
import { eventually, startMetering, streamMessages, type MeteringHarness } from "../testing/metering-harness";

const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";

describe("trace context of Meter.Record", () => {
  let h: MeteringHarness;
  beforeAll(async () => {
    h = await startMetering();
    await h.admin.createMeter({ meter: { key: "calls", eventType: "llm", aggregation: metering.Aggregation.COUNT } });
  });
  afterAll(() => h.close());

  it("sends the caller's trace id on the UsageRecorded message's traceparent header", async () => {
    await h.ingest.record({ event: { id: "traced_1", customerId: "c", eventType: "llm" } }, { headers: { traceparent: `00-${TRACE_ID}-b7ad6b7169203331-01` } });
    await eventually(async () => (await streamMessages(h.env, SUBJECTS.metering.usageRecorded)).length === 1);
    const [message] = await streamMessages(h.env, SUBJECTS.metering.usageRecorded);
    expect(parseTraceparent(message!.traceparent)?.traceId).toBe(TRACE_ID);
  });
});

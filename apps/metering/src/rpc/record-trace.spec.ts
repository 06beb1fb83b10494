import { metering, SUBJECTS } from "@tally/contracts";
import { parseTraceparent } from "@tally/platform";
import { eventually, startMetering, streamMessages, usageRecorded, type MeteringHarness } from "../testing/metering-harness";

const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
const traceparent = (traceId: string) => ({ headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` } });

describe("trace context of Meter.Record", () => {
  let h: MeteringHarness;
  beforeAll(async () => {
    h = await startMetering();
    await h.admin.createMeter({ meter: { key: "calls", eventType: "llm", aggregation: metering.Aggregation.COUNT } });
  });
  afterAll(() => h.close());

  it("sends the caller's trace id on the UsageRecorded message's traceparent header", async () => {
    await h.ingest.record({ event: { id: "traced_1", customerId: "c", eventType: "llm" } }, traceparent(TRACE_ID));
    await eventually(async () => (await streamMessages(h.env, SUBJECTS.metering.usageRecorded)).length === 1);
    const [message] = await streamMessages(h.env, SUBJECTS.metering.usageRecorded);
    expect(parseTraceparent(message!.traceparent)?.traceId).toBe(TRACE_ID);
  });

  it("gives each event its own call's trace, however the calls were grouped into transactions and messages", async () => {
    // Concurrent calls share group commits (and so messages); the header can carry one trace only.
    const traceIds = Array.from({ length: 8 }, (_, i) => `${String(i + 1).repeat(8)}${"a".repeat(24)}`);
    await Promise.all([
      ...traceIds.map((traceId, i) =>
        i % 2 === 0
          ? h.ingest.record({ event: { id: `many_${i}`, customerId: "c", eventType: "llm" } }, traceparent(traceId))
          : h.ingest.recordBatch({ events: [0, 1].map((k) => ({ id: `many_${i}_${k}`, customerId: "c", eventType: "llm" })) }, traceparent(traceId)),
      ),
      h.ingest.recordBatch({ events: [{ id: "many_untraced", customerId: "c", eventType: "llm" }] }),
    ]);
    const traceOf = new Map<string, string | undefined>();
    await eventually(async () => {
      for (const message of await usageRecorded(h.env))
        for (const e of message.events) traceOf.set(e.id, e.traceIndex === 0 ? undefined : parseTraceparent(message.traceparents[e.traceIndex - 1])?.traceId);
      return traceOf.has("many_untraced") && traceIds.every((_, i) => traceOf.has(i % 2 === 0 ? `many_${i}` : `many_${i}_1`));
    });
    traceIds.forEach((traceId, i) => {
      const ids = i % 2 === 0 ? [`many_${i}`] : [`many_${i}_0`, `many_${i}_1`];
      for (const id of ids) expect([id, traceOf.get(id)]).toEqual([id, traceId]);
    });
    expect(traceOf.get("many_untraced")).toBeUndefined();
  });
});

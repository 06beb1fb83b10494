import { runMonth } from "../../tools/month/month-run";
import { formatMonthReport } from "../../tools/month/report";

/**
 * `npm run month` made small (20 customers, 5,000 events, the clock moving a day at a time): the
 * same month through the same five service processes, with the same promises — every invoice
 * line equal to the harness's own recomputation from the raw events, both reconciliations
 * clean, nothing lost, nothing doubled, no cap overshoot, no double charge.
 */
describe("a whole billing month, small", () => {
  it("bills exactly what was used and collects it exactly once", async () => {
    const report = await runMonth({ seed: 7, customers: 20, events: 5_000, batchSize: 500, concurrency: 2, ticksPerDay: 1, log: () => undefined });
    expect({ failures: report.failures, table: formatMonthReport(report) }).toEqual({ failures: [], table: expect.any(String) });
    expect(report.recomputation.invoicesFound).toBe(21); // 20 customers and the latency probe
    expect(report.recomputation.linesCompared).toBeGreaterThan(20);
    expect(report.ingest.duplicatesSent).toBeGreaterThan(0);
    expect(report.ingest.rejected).toBe(report.ingest.malformedSent);
    expect(report.ingest.lateInGrace.accepted).toBeGreaterThan(0);
    expect(report.caps.capsHit).toBeGreaterThan(0);
    expect(report.payments.recoveredByDunning + report.payments.uncollectible).toBeGreaterThan(0);
  }, 600_000);
});

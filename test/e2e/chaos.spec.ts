import { formatReport, runChaos } from "../../tools/chaos/chaos-run";

/**
 * The reduced fault suite (`npm run chaos -- --quick`): its own Postgres and NATS, the services
 * as processes, a Postgres restart under batched ingest, hostile bytes and bad credentials on
 * every rpc. Nothing lost or doubled, no exit, no INTERNAL. The full suite is `npm run chaos`.
 */
describe("the services under faults (quick chaos)", () => {
  it("lose nothing, count nothing twice, never exit and never answer INTERNAL", async () => {
    const report = await runChaos({ quick: true, log: () => undefined });
    expect({ failures: report.failures, table: formatReport(report) }).toEqual({ failures: [], table: expect.any(String) });
    expect(report.ingest.sent).toBeGreaterThan(0);
    expect(report.ingest.faults.map((f) => f.name)).toEqual(["postgres restart (-m fast)"]);
  }, 300_000);
});

import { Code } from "@connectrpc/connect";
import { capRace, type CapRaceResult } from "./cap-race";
import { badCredentials, hostileRequests, targets, type HostileResult } from "./hostile-requests";
import { ingestUnderFaults, type Fault, type IngestResult } from "./ingest-under-faults";
import { startNatsCluster } from "../nats-cluster/nats-cluster";
import { PrivatePostgres } from "./private-servers";
import { deploy, type Deployment } from "./service-processes";
import { connectClients, eventually, setUp } from "./workload";

export interface ChaosOptions {
  /** Minutes of faults (full) or seconds (quick, inside `npm test`). */
  quick: boolean;
  log(line: string): void;
}

export interface ChaosReport {
  ingest: IngestResult;
  capRace?: CapRaceResult;
  hostile: HostileResult;
  credentials: HostileResult;
  unexpectedExits: string[];
  failures: string[];
}

/** Streams and consumers keep a copy on each of the cluster's three nodes: one node's loss loses nothing. */
const NATS_NODES = 3;

/**
 * The fault suite: a private Postgres and 3-node NATS cluster, metering, rating (two instances) and limits
 * as processes, producers and cap racers under kill -9, restarts and crashes, then thousands
 * of hostile requests. Returns what it measured and every broken promise in `failures`.
 */
export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  o.log(`starting a private Postgres and a ${NATS_NODES}-node NATS cluster`);
  const pg = await PrivatePostgres.start();
  const nats = await startNatsCluster({ size: NATS_NODES });
  let d: Deployment | undefined;
  try {
    o.log(`postgres on ${pg.port}, nats on ${nats.servers.join(",")}; starting services (streams at ${NATS_NODES} replicas)`);
    d = await deploy(pg.url(), { url: nats.servers.join(","), replicas: NATS_NODES }, o.quick ? 1 : 2);
    const deployment = d;
    const c = connectClients(deployment);
    try {
      const customers = Array.from({ length: 4 }, (_, i) => `ing_${i}`);
      await setUp(c, [...customers, "cap_1"]);
      const untilRecovered = async () => {
        await Promise.all(deployment.all.map((s) => s.untilServing(90_000)));
        await eventually("metering answers", () => c.meter.client.listMeters({}), 60_000);
        await eventually("limits answers", () => c.limiter.client.getLimits({ scope: { case: "customerId", value: "cap_1" } }), 60_000);
      };
      const restartProcess = (name: string, ...processes: typeof deployment.all) => ({
        name,
        inject: async () => {
          for (const p of processes) await p.kill9();
          for (const p of processes) p.start();
        },
      });
      const pgRestart: Fault = { name: "postgres restart (-m fast)", inject: () => pg.restart() };
      const pgCrash: Fault = { name: "postgres crash (kill -9)", inject: () => pg.crash() };
      // A node's loss and its return are two faults: the first recovers on the two nodes left (the
      // clients fail over, the streams elect new leaders), the second once the node has caught up.
      const natsNode = (i: number): Fault[] => [
        { name: `nats node ${i + 1}/${NATS_NODES} kill -9 (2 nodes left)`, inject: () => nats.kill(i) },
        { name: `nats node ${i + 1}/${NATS_NODES} restart (until caught up)`, inject: () => nats.restart(i) },
      ];
      const ingestFaults: Fault[] = o.quick
        ? [pgRestart]
        : [
            restartProcess("kill -9 metering", deployment.metering),
            pgRestart,
            restartProcess("kill -9 rating (one)", deployment.ratings[0]!),
            ...natsNode(0),
            pgCrash,
            ...natsNode(2),
            restartProcess("kill -9 both ratings", ...deployment.ratings),
            restartProcess("kill -9 metering again", deployment.metering),
          ];
      o.log(`ingest under ${ingestFaults.length} faults`);
      const ingest = await ingestUnderFaults(c, ingestFaults, {
        producers: o.quick ? 4 : 8,
        eventsPerProducer: o.quick ? 1_500 : 25_000,
        batchSize: o.quick ? 100 : 250,
        customers,
        databaseUrl: pg.url(),
        untilRecovered,
      });
      let cap: CapRaceResult | undefined;
      if (!o.quick) {
        o.log("cap race: 50 callers for the last 900 units, kill -9 of limits and of Postgres");
        cap = await capRace(c, [restartProcess("kill -9 limits (cap race)", deployment.limits), { ...pgCrash, name: "postgres crash (cap race)" }], {
          callers: 50,
          room: 900,
          customerId: "cap_1",
          databaseUrl: pg.url(),
          untilRecovered,
        });
      }
      o.log("hostile requests and bad credentials");
      const addresses = { metering: deployment.metering.address, rating: deployment.ratings[0]!.address, limits: deployment.limits.address };
      const hostile = await hostileRequests(targets(addresses), o.quick ? 16 : 120);
      const credentials = await badCredentials(targets(addresses));
      await Promise.all(deployment.all.map((s) => s.untilServing(10_000)));
      const unexpectedExits = deployment.all.flatMap((s) => s.unexpectedExits);
      const failures = [
        ...(ingest.lost > 0 ? [`${ingest.lost} events lost`] : []),
        ...(ingest.doubled > 0 ? [`${ingest.doubled} events counted twice`] : []),
        ...(cap && cap.overshoot > 0 ? [`hard cap overshot by ${cap.overshoot}`] : []),
        ...(ingest.codes.get("Internal") > 0 ? [`${ingest.codes.get("Internal")} INTERNAL answers to RecordBatch`] : []),
        ...(cap && cap.codes.get("Internal") > 0 ? [`${cap.codes.get("Internal")} INTERNAL answers to Check`] : []),
        ...hostile.violations,
        ...credentials.violations,
        ...unexpectedExits.map((e) => `unexpected exit: ${e}`),
      ];
      return { ingest, capRace: cap, hostile, credentials, unexpectedExits, failures };
    } finally {
      c.close();
    }
  } finally {
    for (const s of d?.all ?? []) await s.stop();
    await nats.stop();
    await pg.stop();
  }
}

/** The table the issue asks for. */
export function formatReport(r: ChaosReport): string {
  const rows: [string, string][] = [
    ["events sent (acknowledged)", String(r.ingest.sent)],
    ["events stored", String(r.ingest.stored)],
    ["events rated", String(r.ingest.rated)],
    ["events lost", String(r.ingest.lost)],
    ["events doubled", String(r.ingest.doubled)],
    ["RecordBatch codes seen", r.ingest.codes.toString()],
  ];
  if (r.capRace) {
    rows.push(
      ["cap room / holds granted", `${r.capRace.room} / ${r.capRace.granted}`],
      ["cap overshoot", String(r.capRace.overshoot)],
      ["orphan holds", String(r.capRace.orphanHolds)],
      ["reported holds lost from the database", String(r.capRace.lostHolds)],
      ["Check codes seen", r.capRace.codes.toString()],
    );
  }
  for (const f of [...r.ingest.faults, ...(r.capRace?.faults ?? [])]) rows.push([`recovery: ${f.name}`, `${seconds(f.recoveryMs)} (${seconds(f.afterRestoreMs)} after it was back)`]);
  rows.push(
    [`hostile requests (${r.hostile.calls})`, r.hostile.codes.toString()],
    [`bad credentials (${r.credentials.calls})`, r.credentials.codes.toString()],
    ["unexpected exits", String(r.unexpectedExits.length)],
    ["INTERNAL answers", String(internalCount(r))],
    ["result", r.failures.length === 0 ? "PASS" : `FAIL (${r.failures.length})`],
  );
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function internalCount(r: ChaosReport): number {
  const name = Code[Code.Internal];
  return [r.ingest.codes, r.capRace?.codes, r.hostile.codes, r.credentials.codes].reduce((n, t) => n + (t?.get(name) ?? 0), 0);
}

import { Client } from "pg";
import { metering } from "@tally/contracts";
import { waitUntil } from "./private-servers";
import { CodeTally, codeOf, sleep, type Clients } from "./workload";

export interface Fault {
  name: string;
  /** Injects the fault and undoes it (restarts what it killed). */
  inject(): Promise<void>;
}

export interface FaultTiming {
  name: string;
  /** From the start of the fault until every service is SERVING and answers again. */
  recoveryMs: number;
  /** From the moment what was killed is back (Postgres accepting connections, a process started) until then. */
  afterRestoreMs: number;
}

export interface IngestResult {
  sent: number;
  stored: number;
  rated: number;
  lost: number;
  doubled: number;
  codes: CodeTally;
  faults: FaultTiming[];
}

export interface IngestOptions {
  producers: number;
  eventsPerProducer: number;
  batchSize: number;
  customers: string[];
  databaseUrl: string;
  /** Waits until the whole deployment serves again after a fault. */
  untilRecovered(): Promise<void>;
}

/** Injects a fault and measures how long the deployment takes to serve again. */
export async function timeRecovery(fault: Fault, untilRecovered: () => Promise<void>): Promise<FaultTiming> {
  const started = Date.now();
  await fault.inject();
  const restored = Date.now();
  await untilRecovered();
  return { name: fault.name, recoveryMs: Date.now() - started, afterRestoreMs: Date.now() - restored };
}

/**
 * Producers send RecordBatch calls and retry each batch, with the same event ids, until every
 * event in it is ACCEPTED or DUPLICATE — what a careful client does. Meanwhile the faults run
 * one after another. Then: every acknowledged event must be stored once and rated once.
 */
export async function ingestUnderFaults(c: Clients, faults: Fault[], o: IngestOptions): Promise<IngestResult> {
  const codes = new CodeTally();
  const acknowledged = new Set<string>();
  let produced = 0;
  const total = o.producers * o.eventsPerProducer;
  const producer = async (p: number) => {
    for (let start = 0; start < o.eventsPerProducer; start += o.batchSize) {
      const events = [];
      for (let i = start; i < Math.min(start + o.batchSize, o.eventsPerProducer); i++) {
        const n = p * o.eventsPerProducer + i;
        events.push({ id: `ing-${p}-${i}`, customerId: o.customers[n % o.customers.length]!, eventType: "llm.completion", properties: { tokens: "1" } });
      }
      for (;;) {
        try {
          const res = await c.meter.client.recordBatch({ events });
          codes.add("OK");
          const bad = res.results.filter((r) => r.status !== metering.EventStatus.ACCEPTED && r.status !== metering.EventStatus.DUPLICATE);
          if (bad.length > 0) throw new Error(`events refused: ${bad.map((r) => `${r.eventId} ${r.reason}`).join("; ")}`);
          for (const r of res.results) acknowledged.add(r.eventId);
          produced += events.length;
          break;
        } catch (err) {
          if (err instanceof Error && err.message.startsWith("events refused")) throw err;
          codes.add(codeOf(err));
          await sleep(100);
        }
      }
    }
  };
  const producing = Promise.all(Array.from({ length: o.producers }, (_, p) => producer(p)));
  const timings: FaultTiming[] = [];
  for (const [index, fault] of faults.entries()) {
    // Spread the faults over the run: each waits until its share of events has gone in.
    await waitUntil(() => produced >= (total * (index + 0.5)) / (faults.length + 1), 600_000, `ingest progress before ${fault.name}`);
    timings.push(await timeRecovery(fault, o.untilRecovered));
  }
  await producing;

  const db = new Client({ connectionString: o.databaseUrl });
  await db.connect();
  try {
    const count = async (sql: string) => Number((await db.query<{ n: string }>(sql)).rows[0]!.n);
    const stored = await count("SELECT count(*) AS n FROM metering.events WHERE event_id LIKE 'ing-%'");
    // Rating catches up on what JetStream delivers; at 1 per unit the amount is the rated quantity,
    // so a lost or doubled event shows as a gap here.
    const ratedQuantity = () =>
      count(`SELECT coalesce(sum(amount), 0) AS n FROM rating.period_usage WHERE subscription_id IN (SELECT id FROM rating.subscriptions WHERE customer_id LIKE 'ing_%')`);
    // Each event rated leaves its id in rating.rated_events (once: it is the key); one applied twice
    // shows as a running amount above that count.
    const ratedIds = () => count("SELECT count(*) AS n FROM rating.rated_events WHERE event_id LIKE 'ing-%'");
    await waitUntil(async () => (await ratedIds()) >= stored && (await ratedQuantity()) >= stored, 120_000, "rating to catch up").catch(() => undefined);
    await sleep(1_000); // a late double count would show now
    const rated = await ratedIds();
    const quantity = await ratedQuantity();
    return {
      sent: acknowledged.size,
      stored,
      rated,
      lost: Math.max(0, acknowledged.size - stored) + Math.max(0, stored - rated),
      doubled: Math.max(0, quantity - rated),
      codes,
      faults: timings,
    };
  } finally {
    await db.end();
  }
}

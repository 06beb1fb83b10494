import { Client } from "pg";
import { limits } from "@tally/contracts";
import { waitUntil } from "./private-servers";
import { timeRecovery, type Fault, type FaultTiming } from "./ingest-under-faults";
import { CodeTally, codeOf, eventually, sleep, type Clients } from "./workload";

export interface CapRaceResult {
  room: number;
  granted: number;
  overshoot: number;
  /** Holds in the database that no caller was told about. */
  orphanHolds: number;
  /** Holds reported to a caller that the database no longer has (lost in a crash). */
  lostHolds: number;
  codes: CodeTally;
  faults: FaultTiming[];
}

export interface CapRaceOptions {
  callers: number;
  room: number;
  customerId: string;
  databaseUrl: string;
  untilRecovered(): Promise<void>;
}

/**
 * `callers` clients race for the last `room` units of a HARD_CAP, one unit per Check with
 * reserve, each retrying an unanswered Check with the same idempotency key; the faults strike
 * mid-race. Every hold reported to a caller counts: more than `room` is an overshoot.
 */
export async function capRace(c: Clients, faults: Fault[], o: CapRaceOptions): Promise<CapRaceResult> {
  await eventually("set the hard cap", () =>
    c.limiter.client.setLimit({
      limit: { scope: { case: "customerId", value: o.customerId }, meterKey: "tokens", kind: limits.LimitKind.HARD_CAP, measure: limits.LimitMeasure.UNITS, value: String(o.room) },
    }),
  );
  const codes = new CodeTally();
  const granted = new Set<string>();
  const caller = async (i: number) => {
    for (let attempt = 0; ; attempt++) {
      const idempotencyKey = `cap-${i}-${attempt}`;
      for (;;) {
        try {
          const res = await c.limiter.client.check({ customerId: o.customerId, meterKey: "tokens", quantity: "1", reserve: true, reservationTtl: { seconds: 3600n }, idempotencyKey });
          codes.add("OK");
          if (!res.allowed) return;
          granted.add(res.reservationId);
          break;
        } catch (err) {
          codes.add(codeOf(err));
          await sleep(50);
        }
      }
    }
  };
  const racing = Promise.all(Array.from({ length: o.callers }, (_, i) => caller(i)));
  const timings: FaultTiming[] = [];
  for (const [index, fault] of faults.entries()) {
    await waitUntil(() => granted.size >= (o.room * (index + 1)) / (faults.length + 1), 300_000, `holds before ${fault.name}`);
    timings.push(await timeRecovery(fault, o.untilRecovered));
  }
  await racing;
  const db = new Client({ connectionString: o.databaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query<{ reservation_id: string }>(
      "SELECT reservation_id FROM limits.reservations WHERE customer_id = $1 AND status IN ('active', 'committed')",
      [o.customerId],
    );
    const inDatabase = new Set(rows.map((r) => r.reservation_id));
    return {
      room: o.room,
      lostHolds: [...granted].filter((id) => !inDatabase.has(id)).length,
      granted: granted.size,
      overshoot: Math.max(0, granted.size - o.room),
      orphanHolds: rows.filter((r) => !granted.has(r.reservation_id)).length,
      codes,
      faults: timings,
    };
  } finally {
    await db.end();
  }
}

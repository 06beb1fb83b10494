import { create, fromBinary } from "@bufbuild/protobuf";
import { type Code, ConnectError, type Client } from "@connectrpc/connect";
import { common, metering, SUBJECTS } from "@tally/contracts";
import { startService, type RunningService } from "@tally/platform";
import { createTestClient, createTestEnvironment, ManualClock, TEST_KEYS, type TestEnvironment } from "@tally/platform/testing";
import { createMeteringService } from "../metering-service";
import type { MeteringSettings } from "../settings";
import { RollupFolder } from "../service/rollup-folder";

/**
 * One metering instance on a fresh database and NATS prefix, with a manual clock and a client
 * per API key scope. Test files share one per file (a database costs ~100 ms).
 */
export interface MeteringHarness {
  env: TestEnvironment;
  service: RunningService;
  clock: ManualClock;
  /** Scope `ingest`. */
  ingest: Client<typeof metering.Meter>;
  /** Scope `admin` (+ read). */
  admin: Client<typeof metering.Meter>;
  /** Scope `read`. */
  reader: Client<typeof metering.Meter>;
  client(apiKey?: string): Client<typeof metering.Meter>;
  close(): Promise<void>;
}

export const T0 = "2026-03-15T12:00:00Z";

export async function startMetering(options: { settings?: Partial<MeteringSettings>; now?: string; env?: TestEnvironment } = {}): Promise<MeteringHarness> {
  const env = options.env ?? (await createTestEnvironment());
  const clock = new ManualClock(options.now ?? T0);
  const service = await startService(createMeteringService(options.settings), env.config("metering"), { clock });
  const closers: (() => void)[] = [];
  const client = (apiKey?: string) => {
    const c = createTestClient(metering.Meter, service.address, apiKey);
    closers.push(c.close);
    return c.client;
  };
  return {
    env,
    service,
    clock,
    ingest: client(TEST_KEYS.ingest),
    admin: client(TEST_KEYS.admin),
    reader: client(TEST_KEYS.read),
    client,
    async close() {
      for (const close of closers) close();
      await service.stop();
      if (!options.env) await env.close();
    },
  };
}

/** Plain shapes of the request messages tests build (assignable to protobuf-es init types). */
export interface TimestampInit {
  seconds: bigint;
  nanos: number;
}

export interface EventInit {
  id?: string;
  customerId?: string;
  eventType?: string;
  time?: TimestampInit;
  properties?: Record<string, string>;
}

export interface MeterInit {
  key?: string;
  eventType?: string;
  aggregation?: metering.Aggregation;
  valueProperty?: string;
  groupBy?: string[];
  filters?: { property: string; values: string[] }[];
  allowNegative?: boolean;
  description?: string;
}

export interface QueryInit {
  customerId?: string;
  meterKey?: string;
  from?: TimestampInit;
  to?: TimestampInit;
  windowSize?: metering.WindowSize;
  timeZone?: string;
  groupBy?: string[];
}

/** Timestamp init from an ISO string. */
export function ts(iso: string): TimestampInit {
  const ms = new Date(iso).getTime();
  return { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

export function usageEvent(init: EventInit) {
  return create(metering.UsageEventSchema, init);
}

/** What a failed call carried: gRPC code, platform reason, first field and message. */
export interface Failure {
  code: Code;
  /** ErrorDetail.code (the platform also sends it as `tally-error-reason`). */
  reason: string | null;
  /** The first violation's field. */
  field: string | null;
  message: string;
  /** ErrorDetail.field_violations as "field code". */
  violations: string[];
}

export async function failure(call: Promise<unknown>): Promise<Failure> {
  try {
    await call;
  } catch (err) {
    const e = ConnectError.from(err);
    const [detail] = e.findDetails(common.ErrorDetailSchema);
    return {
      code: e.code,
      reason: detail?.code ?? e.metadata.get("tally-error-reason"),
      field: detail?.fieldViolations[0]?.field ?? e.metadata.get("tally-error-field"),
      message: e.rawMessage,
      violations: detail?.fieldViolations.map((v) => `${v.field} ${v.code}`) ?? [],
    };
  }
  throw new Error("expected the call to fail");
}

export interface StreamMessage {
  subject: string;
  msgId: string | undefined;
  /** The W3C trace context header, when the publishing call had one. */
  traceparent: string | undefined;
  data: Uint8Array;
}

/** Every message in metering's stream on this environment's prefix, optionally of one subject. */
export async function streamMessages(env: TestEnvironment, subject?: string): Promise<StreamMessage[]> {
  const name = env.bus.streamName("metering");
  const info = await env.bus.manager.streams.info(name).catch(() => undefined);
  if (!info || info.state.messages === 0) return [];
  const out: StreamMessage[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const msg = await env.bus.manager.streams.getMessage(name, { seq }).catch(() => undefined);
    if (!msg) continue;
    if (subject && msg.subject !== env.bus.subject(subject)) continue;
    out.push({ subject: msg.subject, msgId: msg.header?.get("Nats-Msg-Id") || undefined, traceparent: msg.header?.get("traceparent") || undefined, data: msg.data });
  }
  return out;
}

/** The UsageRecorded messages published so far. */
export async function usageRecorded(env: TestEnvironment): Promise<metering.UsageRecorded[]> {
  return (await streamMessages(env, SUBJECTS.metering.usageRecorded)).map((m) => fromBinary(metering.UsageRecordedSchema, m.data));
}

/** Polls `check` until it returns true (or throws after `timeoutMs`). */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Folds every pending rollup into usage_rollup / usage_unique_values, as QueryUsage does first,
 * from another RollupFolder than the service's: it reads the pending rows back from Postgres.
 */
export async function foldRollups(h: MeteringHarness): Promise<void> {
  await new RollupFolder({ pool: h.service.deps.pool, logger: h.service.deps.logger }).foldNow();
}

/** Rows in a metering table (to prove that nothing was stored); rollups once folded. */
export async function countRows(h: MeteringHarness, table: "events" | "usage_rollup" | "meters" | "outbox"): Promise<number> {
  if (table === "usage_rollup") await foldRollups(h);
  const { rows } = await h.service.deps.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]!.n;
}

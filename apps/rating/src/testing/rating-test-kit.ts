import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { metering, rating, SUBJECTS } from "@tally/contracts";
import { startService, type Clock, type RunningService } from "@tally/platform";
import { createTestClient, TEST_KEYS, type TestEnvironment } from "@tally/platform/testing";
import { createRatingService, type RatingInternals } from "../rating-service";
import type { RatingSettings } from "../settings";

/** Test helpers shared by rating's server-backed specs (real Postgres and NATS). */

export interface RatingInstance {
  running: RunningService;
  internals: RatingInternals;
  client: ReturnType<typeof createTestClient<typeof rating.Rating>>["client"];
  stop(): Promise<void>;
}

export async function startRating(env: TestEnvironment, clock: Clock, options: Partial<RatingSettings> = {}): Promise<RatingInstance> {
  let internals: RatingInternals | undefined;
  const definition = createRatingService({ lateGraceMinutes: 60, advanceIntervalMs: 200, maxBatch: 64, ...options }, (i) => (internals = i));
  const running = await startService(definition, env.config("rating"), { clock });
  const { client, close } = createTestClient(rating.Rating, running.address, TEST_KEYS.all);
  return {
    running,
    internals: internals!,
    client,
    async stop() {
      close();
      await running.stop();
    },
  };
}

export async function publishMeter(
  env: TestEnvironment,
  key: string,
  aggregation: metering.Aggregation,
  groupBy: string[] = [],
): Promise<void> {
  await env.bus.ensureStream("metering");
  const message = create(metering.MeterCreatedSchema, {
    meta: { id: `meter-${key}`, source: "test", subject: SUBJECTS.metering.meterCreated, time: timestampFromDate(new Date()) },
    meter: { key, eventType: key, aggregation, valueProperty: "value", groupBy, state: metering.MeterState.ACTIVE },
  });
  await env.bus.publish(SUBJECTS.metering.meterCreated, toBinary(metering.MeterCreatedSchema, message), `meter-${key}`);
}

export interface TestEvent {
  id: string;
  customerId: string;
  time: string | Date;
  readings: { meterKey: string; aggregation: metering.Aggregation; value: string; group?: Record<string, string> }[];
}

let messageCounter = 0;

/** Publishes one UsageRecorded carrying `events`, as metering would (with its trace context header, if given). */
export async function publishUsage(env: TestEnvironment, events: TestEvent[], msgId = `usage-${process.pid}-${++messageCounter}`, traceparent?: string): Promise<void> {
  await env.bus.ensureStream("metering");
  const message = create(metering.UsageRecordedSchema, {
    meta: { id: msgId, source: "test", subject: SUBJECTS.metering.usageRecorded, time: timestampFromDate(new Date()) },
    events: events.map((e) => ({
      id: e.id,
      customerId: e.customerId,
      eventType: "test",
      time: timestampFromDate(new Date(e.time)),
      recordTime: timestampFromDate(new Date(e.time)),
      readings: e.readings.map((r) => ({ ...r, group: r.group ?? {} })),
    })),
  });
  await env.bus.publish(SUBJECTS.metering.usageRecorded, toBinary(metering.UsageRecordedSchema, message), msgId, traceparent);
}

export async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Waits until rating has handled (rated or kept) every event id. */
export async function waitForEvents(instance: RatingInstance, ids: string[]): Promise<void> {
  await waitUntil(async () => {
    const { rows } = await instance.running.deps.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM rated_events WHERE event_id = ANY($1)", [ids]);
    return rows[0]!.n === ids.length;
  }, `events ${ids.join(",")}`);
}

/** Publishes `events` as one UsageRecorded message and waits until rating has handled each. */
export async function rateEvents(env: TestEnvironment, instance: RatingInstance, events: TestEvent[]): Promise<void> {
  await publishUsage(env, events);
  await waitForEvents(instance, events.map((e) => e.id));
}

/**
 * Waits until rating's usage consumer has handled and acknowledged every message published so
 * far: a condition, not a sleep, so a redelivered copy has really been through the handler.
 */
export async function waitForUsageConsumed(env: TestEnvironment): Promise<void> {
  await waitUntil(async () => {
    const info = await env.bus.manager.consumers.info(env.bus.streamName("metering"), "rating");
    return info.num_pending === 0 && info.num_ack_pending === 0;
  }, "rating's usage consumer to drain");
}

export async function waitForMeters(instance: RatingInstance, keys: string[]): Promise<void> {
  await waitUntil(async () => {
    const { rows } = await instance.running.deps.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM meters WHERE key = ANY($1)", [keys]);
    return rows[0]!.n === keys.length;
  }, `meters ${keys.join(",")}`);
}

/** Every message rating published on `subject` so far (after the outbox drained). */
export async function publishedMessages<S extends DescMessage>(env: TestEnvironment, instance: RatingInstance, subject: string, schema: S): Promise<MessageShape<S>[]> {
  await waitUntil(async () => {
    const { rows } = await instance.running.deps.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox");
    return rows[0]!.n === 0;
  }, "outbox to drain");
  const name = env.bus.streamName("rating");
  const info = await env.bus.manager.streams.info(name);
  const out: MessageShape<S>[] = [];
  const wanted = env.bus.subject(subject);
  for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
    const msg = await env.bus.manager.streams.getMessage(name, { seq }).catch(() => undefined);
    if (msg && msg.subject === wanted) out.push(fromBinary(schema, msg.data));
  }
  return out;
}

/** A plan with usage components, in the shape CreatePlan takes. */
export function planInput(
  key: string,
  components: MessageInitShape<typeof rating.PriceComponentSchema>[],
  extra: { name?: string; currency?: string; billingInterval?: rating.BillingInterval; recurringFee?: { amount: string; timing: rating.FeeTiming } } = {},
): rating.Plan {
  return create(rating.PlanSchema, {
    key,
    name: extra.name ?? `Plan ${key}`,
    currency: extra.currency ?? "USD",
    billingInterval: extra.billingInterval ?? rating.BillingInterval.MONTH,
    recurringFee: extra.recurringFee,
    components,
  });
}

export const AGG = metering.Aggregation;

import { startService, type RunningService } from "@tally/platform";
import { createTestClient, createTestEnvironment, TEST_KEYS, type TestEnvironment } from "@tally/platform/testing";
import { limits, metering, rating } from "@tally/contracts";
import { meteringService } from "@tally/metering";
import { ratingService } from "@tally/rating";
import { limitsService } from "@tally/limits";

/** Metering, rating and limits running together on one test database and NATS prefix. */
export interface PlatformStack {
  env: TestEnvironment;
  metering: RunningService;
  rating: RunningService;
  limits: RunningService;
  meter: ReturnType<typeof createTestClient<typeof metering.Meter>>["client"];
  rater: ReturnType<typeof createTestClient<typeof rating.Rating>>["client"];
  limiter: ReturnType<typeof createTestClient<typeof limits.Limits>>["client"];
  stop(): Promise<void>;
}

export async function startPlatformStack(): Promise<PlatformStack> {
  const env = await createTestEnvironment();
  const started: RunningService[] = [];
  const clients: { close(): void }[] = [];
  try {
    const m = await startService(meteringService, env.config("metering"));
    started.push(m);
    const r = await startService(ratingService, env.config("rating"));
    started.push(r);
    const l = await startService(limitsService, env.config("limits"));
    started.push(l);
    const meter = createTestClient(metering.Meter, m.address, TEST_KEYS.all);
    const rater = createTestClient(rating.Rating, r.address, TEST_KEYS.all);
    const limiter = createTestClient(limits.Limits, l.address, TEST_KEYS.all);
    clients.push(meter, rater, limiter);
    return {
      env,
      metering: m,
      rating: r,
      limits: l,
      meter: meter.client,
      rater: rater.client,
      limiter: limiter.client,
      stop: () => stopAll(env, started, clients),
    };
  } catch (err) {
    await stopAll(env, started, clients);
    throw err;
  }
}

async function stopAll(env: TestEnvironment, services: RunningService[], clients: { close(): void }[]): Promise<void> {
  for (const client of clients) client.close();
  for (const service of [...services].reverse()) await service.stop();
  await env.close();
}


/**
 * Rating learns meters from metering's events, so a plan naming a meter
 * created a moment ago may be refused until that event arrives: retry only that.
 */
export async function untilMeterKnown<T>(create: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await create();
    } catch (err) {
      const aboutMeter = err instanceof Error && /meter_key/.test(err.message);
      if (!aboutMeter || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

export { eventually } from "@tally/platform/testing";

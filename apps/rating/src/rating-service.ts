import * as path from "node:path";
import { entitySubjectsOf, rating, SUBJECTS } from "@tally/contracts";
import { int, loadConfig, readMigrations, serviceRegistration, startConsumer, type Field, type RunningConsumer, type ServiceDefinition } from "@tally/platform";
import { PricerCache } from "@tally/plan-pricing";
import { DimensionalPricerCache } from "./domain/invoice-lines";
import { RATING_SCOPES, ratingHandlers } from "./rpc/rating-handlers";
import { MeterCopy } from "./service/meter-copy";
import { MeterLookup } from "./service/meter-lookup";
import { MeterSync } from "./service/meter-sync";
import { Forecaster } from "./service/forecaster";
import { PlanCatalog } from "./service/plan-catalog";
import { PlanService } from "./service/plan-service";
import { SubscriptionService } from "./service/subscription-service";
import { UsageReader } from "./service/usage-reader";
import { UsageRater } from "./service/usage-rater";

export interface RatingOptions {
  /** A period closes this long after its end; later events are kept unrated (PERIOD_CLOSED). */
  lateGraceMinutes: number;
  /** How often to announce period starts / scheduled changes on subscription.changed. */
  advanceIntervalMs: number;
  /** Most UsageRecorded messages rated in one transaction. */
  maxBatch: number;
  /**
   * Rating workers per instance, each a puller on the shared durable consumer (as another
   * instance would be). 1 by default: batches of one customer base touch the same rows, so a
   * second worker mostly waits for the first one's locks (measured: no gain on 2 cores).
   */
  workers: number;
  /**
   * Where to copy meter definitions from at start, and to ask about a meter a new plan names that
   * rating has not heard of yet (metering's address and an API key with its `read` scope); none:
   * rating knows only the meters whose events it has consumed.
   */
  metering: MeteringSource | undefined;
}

export interface MeteringSource {
  address: string;
  apiKey: string;
  /** Wait between attempts while metering cannot be reached (default 5 s). */
  retryMs?: number;
}

/** RATING_METERING_ADDRESS and RATING_METERING_API_KEY: both or neither. */
function meteringSource(): Field<MeteringSource | undefined> {
  return (env, problems) => {
    const address = env.RATING_METERING_ADDRESS?.trim() ?? "";
    const apiKey = env.RATING_METERING_API_KEY?.trim() ?? "";
    if (address === "" && apiKey === "") return undefined;
    if (address === "") problems.push("RATING_METERING_ADDRESS is required when RATING_METERING_API_KEY is set");
    if (apiKey === "") problems.push("RATING_METERING_API_KEY is required when RATING_METERING_ADDRESS is set");
    return { address, apiKey };
  };
}

/**
 * RATING_LATE_GRACE_MINUTES (60), RATING_ADVANCE_INTERVAL_MS (5000), RATING_MAX_BATCH (64),
 * RATING_WORKERS (1), RATING_METERING_ADDRESS + RATING_METERING_API_KEY (unset).
 */
export function loadRatingOptions(env: Record<string, string | undefined> = process.env): RatingOptions {
  return loadConfig(
    {
      lateGraceMinutes: int("RATING_LATE_GRACE_MINUTES", 60, { min: 0, max: 60 * 24 * 35 }),
      advanceIntervalMs: int("RATING_ADVANCE_INTERVAL_MS", 5000, { min: 10, max: 3_600_000 }),
      maxBatch: int("RATING_MAX_BATCH", 64, { min: 1, max: 10_000 }),
      workers: int("RATING_WORKERS", 1, { min: 1, max: 16 }),
      metering: meteringSource(),
    },
    env,
  );
}

/** Exposed for tests and the bench: the rater of a running instance. */
export interface RatingInternals {
  rater: UsageRater;
  subscriptions: SubscriptionService;
  meterSync: MeterSync | undefined;
}

/**
 * The rating service. `options` default to the environment; tests pass them explicitly.
 * `onBuilt` hands tests the internals of the instance being built.
 */
export function createRatingService(options?: Partial<RatingOptions>, onBuilt?: (internals: RatingInternals) => void): ServiceDefinition {
  return {
    name: "rating",
    migrations: readMigrations(path.join(__dirname, "../migrations")),
    build(deps) {
      const opts = { ...loadRatingOptions(), ...options };
      const catalog = new PlanCatalog();
      const pricers = new PricerCache();
      const dimensional = new DimensionalPricerCache();
      const rater = new UsageRater(deps, catalog, pricers, opts.lateGraceMinutes * 60_000);
      const subscriptions = new SubscriptionService(deps, catalog, (sub) => rater.rerateUnrated(sub));
      const plans = new PlanService(deps, catalog, new MeterLookup(deps.pool, opts.metering));
      const reader = new UsageReader(deps, catalog, pricers, dimensional);
      const meters = new MeterCopy(deps);
      const meterSync = opts.metering && new MeterSync({ pool: deps.pool, logger: deps.logger, ...opts.metering });
      onBuilt?.({ rater, subscriptions, meterSync });
      const consumers: RunningConsumer[] = [];
      let timer: NodeJS.Timeout | undefined;
      let advancing: Promise<unknown> = Promise.resolve();
      return {
        services: [serviceRegistration({ service: rating.Rating, handlers: ratingHandlers(plans, subscriptions, reader, deps, new Forecaster(deps, catalog, pricers, dimensional)), scopes: RATING_SCOPES })],
        async start() {
          meterSync?.start();
          consumers.push(
            await startConsumer({
              bus: deps.bus,
              owner: "metering",
              durable: "rating-meters",
              subject: entitySubjectsOf("metering", "meter"),
              handle: (msgs) => meters.handle(msgs),
              logger: deps.logger,
              maxBatch: 100,
            }),
          );
          for (let i = 0; i < opts.workers; i++) {
            consumers.push(
              await startConsumer({
                bus: deps.bus,
                owner: "metering",
                durable: "rating",
                subject: SUBJECTS.metering.usageRecorded,
                handle: (msgs) => rater.handle(msgs),
                logger: deps.logger,
                maxBatch: opts.maxBatch,
              }),
            );
          }
          timer = setInterval(() => {
            advancing = subscriptions.advance().catch((err: unknown) => deps.logger.warn("period advance failed", { err }));
          }, opts.advanceIntervalMs);
          timer.unref();
        },
        async stop() {
          if (timer) clearInterval(timer);
          await meterSync?.stop();
          await advancing;
          for (const c of consumers) await c.stop();
        },
      };
    },
  };
}

export const ratingService: ServiceDefinition = createRatingService();

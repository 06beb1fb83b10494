import * as path from "node:path";
import { entitySubjectsOf, rating, SUBJECTS } from "@tally/contracts";
import { readMigrations, serviceRegistration, startConsumer, type RunningConsumer, type ServiceDefinition } from "@tally/platform";
import { PricerCache } from "@tally/plan-pricing";
import { DimensionalPricerCache } from "./domain/invoice-lines";
import { RATING_SCOPES, ratingHandlers } from "./rpc/rating-handlers";
import { MeterCopy } from "./service/meter-copy";
import { MeterLookup } from "./service/meter-lookup";
import { MeterSync } from "./service/meter-sync";
import { Forecaster } from "./service/forecaster";
import { PlanCatalog } from "./service/plan-catalog";
import { PlanService } from "./service/plan-service";
import { ProjectionRefresher } from "./service/projection-refresher";
import { SubscriptionService } from "./service/subscription-service";
import { loadUsagePartitions, usageConsumers } from "./service/usage-partitions";
import { UsageReader } from "./service/usage-reader";
import { UsageRater } from "./service/usage-rater";
import { loadRatingSettings, type RatingSettings } from "./settings";

/** Usage rated for a customer is re-projected this long after (a burst of batches coalesces into one check). */
const PROJECTION_DEBOUNCE_MS = 1_000;

/** Exposed for tests and the bench: the rater of a running instance. */
export interface RatingInternals {
  rater: UsageRater;
  subscriptions: SubscriptionService;
  meterSync: MeterSync | undefined;
  forecaster: Forecaster;
  refresher: ProjectionRefresher;
}

/**
 * The rating service. `options` default to the environment (settings.ts); tests pass them explicitly.
 * `onBuilt` hands tests the internals of the instance being built.
 */
export function createRatingService(options?: Partial<RatingSettings>, onBuilt?: (internals: RatingInternals) => void): ServiceDefinition {
  return {
    name: "rating",
    migrations: readMigrations(path.join(__dirname, "../migrations")),
    build(deps) {
      const opts = { ...loadRatingSettings(), ...options };
      const catalog = new PlanCatalog();
      const pricers = new PricerCache();
      const dimensional = new DimensionalPricerCache();
      const rater = new UsageRater(deps, catalog, pricers, opts.lateGraceMinutes * 60_000);
      const subscriptions = new SubscriptionService(deps, catalog, (sub) => rater.rerateUnrated(sub));
      const plans = new PlanService(deps, catalog, new MeterLookup(deps.pool, opts.metering));
      const reader = new UsageReader(deps, catalog, pricers, dimensional);
      const meters = new MeterCopy(deps);
      const meterSync = opts.metering && new MeterSync({ pool: deps.pool, logger: deps.logger, ...opts.metering });
      const forecaster = new Forecaster(deps, catalog, pricers, dimensional, opts.forecastInlineMax);
      const refresher = new ProjectionRefresher(forecaster, deps.logger, { intervalMs: opts.projectionRefreshMs, debounceMs: PROJECTION_DEBOUNCE_MS });
      // The consumer's only addition: the customers of a committed batch go into a Set.
      rater.committed.push((events) => refresher.touch(events.map((e) => e.customerId)));
      // Likewise a plan change or cancel, and the billings a ForecastRevenue call left out (over its inline bound).
      subscriptions.changed.push((customerIds) => refresher.touch(customerIds));
      forecaster.behind.push((customerIds) => refresher.touch(customerIds));
      onBuilt?.({ rater, subscriptions, meterSync, forecaster, refresher });
      const consumers: RunningConsumer[] = [];
      let timer: NodeJS.Timeout | undefined;
      let advancing: Promise<unknown> = Promise.resolve();
      return {
        services: [serviceRegistration({ service: rating.Rating, handlers: ratingHandlers(plans, subscriptions, reader, deps, forecaster), scopes: RATING_SCOPES })],
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
          // The shared consumer, or this instance's partitions (docs/scaling.md); each with `workers` pullers.
          for (const { durable, subject } of usageConsumers(SUBJECTS.metering.usageRecorded, loadUsagePartitions())) {
            for (let i = 0; i < opts.workers; i++) {
              consumers.push(
                await startConsumer({ bus: deps.bus, owner: "metering", durable, subject, handle: (msgs) => rater.handle(msgs), logger: deps.logger, maxBatch: opts.maxBatch }),
              );
            }
          }
          timer = setInterval(() => {
            advancing = subscriptions.advance().catch((err: unknown) => deps.logger.warn("period advance failed", { err }));
          }, opts.advanceIntervalMs);
          timer.unref();
          refresher.start();
        },
        async stop() {
          if (timer) clearInterval(timer);
          await refresher.stop();
          await meterSync?.stop();
          await advancing;
          for (const c of consumers) await c.stop();
        },
      };
    },
  };
}

export const ratingService: ServiceDefinition = createRatingService();

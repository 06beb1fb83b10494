import * as path from "node:path";
import { limits as pb } from "@tally/contracts";
import { readMigrations, serviceRegistration, startConsumer, type MetricCounter, type RunningConsumer, type ServiceDefinition, type ServiceDeps } from "@tally/platform";
import { createLimitsHandlers, LIMITS_SCOPES, type LimitsServices } from "./rpc/limits-handlers";
import { AlertService } from "./service/alert-service";
import { CheckService } from "./service/check-service";
import { CreditService } from "./service/credit-service";
import { LimitService } from "./service/limit-service";
import { PAYMENTS_SUBJECTS, REFRESH_INTERVAL_MS, UncollectibleBlocks } from "./service/uncollectible-blocks";
import { RATING_SUBJECTS, UsageProjector } from "./service/usage-projector";
import { loadLimitsSettings } from "./settings";
import { checksShed } from "./service/check-admission";

const CHECK_METHOD = `/${pb.Limits.typeName}/${pb.Limits.method.check.name}`;

export interface LimitsApp extends LimitsServices {
  projector: UsageProjector;
  /** One sweep: expire lapsed reservations, delete old terminal ones, book due grant effectivity/expiry. */
  sweep(): Promise<void>;
}

/**
 * Wires the services from the platform's dependencies (also used directly by tests).
 * `blockOnUncollectible`: the default for customers without their own setting.
 */
export function createLimitsApp(deps: ServiceDeps, decisions?: MetricCounter<"decision">, blockOnUncollectible = false): LimitsApp {
  const credits = new CreditService(deps.pool, deps.clock);
  const alerts = new AlertService(deps.pool);
  const blocks = new UncollectibleBlocks(deps.pool, deps.clock, blockOnUncollectible, deps.logger);
  const checks = new CheckService(deps.pool, deps.clock, undefined, decisions, blocks);
  return {
    limits: new LimitService(deps.pool),
    checks,
    credits,
    alerts,
    blocks,
    projector: new UsageProjector(deps.pool, deps.clock, credits, alerts, deps.logger),
    async sweep() {
      await checks.sweep();
      await credits.catchUpDue();
    },
  };
}

/** Half the cache's refreshAfterMs: a position in use is re-read 50–75 ms after its read, before maxAgeMs (100). */
const POSITION_REFRESH_INTERVAL_MS = 25;

export const limitsService: ServiceDefinition = {
  name: "limits",
  migrations: readMigrations(path.join(__dirname, "../migrations")),
  build(deps) {
    const settings = loadLimitsSettings();
    const decisions = deps.metrics.counter("limits_checks_total", "Limits.Check answers: allowed, denied, or shed (refused as overloaded).", ["decision"]);
    const app = createLimitsApp(deps, decisions, settings.blockOnUncollectible);
    let consumer: RunningConsumer | undefined;
    let paymentsConsumer: RunningConsumer | undefined;
    let blocksTimer: NodeJS.Timeout | undefined;
    let timer: NodeJS.Timeout | undefined;
    let refreshTimer: NodeJS.Timeout | undefined;
    let sweeping: Promise<void> | undefined;
    return {
      services: [serviceRegistration({ service: pb.Limits, handlers: createLimitsHandlers(app), scopes: LIMITS_SCOPES })],
      // Checks refused at the server's door count as shed, like those the Check path refuses itself.
      admission: settings.shed && {
        ...settings.shed,
        onShed: (method) => {
          if (method !== CHECK_METHOD) return;
          checksShed.inc();
          decisions.inc({ decision: "shed" });
        },
      },
      async start() {
        consumer = await startConsumer({
          bus: deps.bus,
          owner: "rating",
          durable: "limits",
          // One filter for all of rating's subjects: nats-server 2.9 has no multi-subject
          // filters, and one consumer keeps plans, subscriptions and usage in stream order.
          subject: RATING_SUBJECTS,
          handle: (messages) => app.projector.handle(messages),
          logger: deps.logger,
          maxBatch: 100,
        });
        await app.blocks.refresh();
        paymentsConsumer = await startConsumer({
          bus: deps.bus,
          owner: "payments",
          durable: "limits",
          subject: PAYMENTS_SUBJECTS,
          handle: (messages) => app.blocks.handle(messages),
          logger: deps.logger,
          maxBatch: 100,
        });
        // Other instances' changes to who is blocked show within this interval.
        blocksTimer = setInterval(() => {
          app.blocks.refresh().catch((err: unknown) => deps.logger.warn("limits blocked-customer refresh failed", { err }));
        }, REFRESH_INTERVAL_MS);
        blocksTimer.unref();
        timer = setInterval(() => {
          sweeping ??= app
            .sweep()
            .catch((err: unknown) => deps.logger.warn("limits sweep failed; will retry", { err }))
            .finally(() => (sweeping = undefined));
        }, settings.sweepIntervalMs);
        timer.unref();
        // Keeps plain Checks' positions in use fresh before they age out (one statement per 500 positions).
        refreshTimer = setInterval(() => {
          app.checks.positions.refresh().catch((err: unknown) => deps.logger.warn("limits position refresh failed", { err }));
        }, POSITION_REFRESH_INTERVAL_MS);
        refreshTimer.unref();
      },
      async stop() {
        if (timer) clearInterval(timer);
        if (refreshTimer) clearInterval(refreshTimer);
        if (blocksTimer) clearInterval(blocksTimer);
        await sweeping;
        await consumer?.stop();
        await paymentsConsumer?.stop();
      },
    };
  },
};

import * as path from "node:path";
import { allSubjectsOf, invoicing, limits, metering, rating, SUBJECTS } from "@tally/contracts";
import {
  createServiceClient,
  ManualClock,
  readMigrations,
  runInTrace,
  serviceRegistration,
  startConsumer,
  type RunningConsumer,
  type ServiceDefinition,
  type ReceivedEvent,
} from "@tally/platform";
import { LimitsCreditBurns, noCreditBurns, type CreditBurns } from "./adapter/credit-ledger";
import { RatingPlans } from "./adapter/plan-source";
import { RatingPeriodPricer, type PeriodPricer } from "./adapter/rating-source";
import { MeteringUsage } from "./adapter/usage-source";
import { INVOICING_SCOPES, invoicingHandlers } from "./rpc/invoicing-handlers";
import { BillingCycle } from "./service/billing-cycle";
import { CustomerService } from "./service/customer-service";
import { InvoiceService } from "./service/invoice-service";
import { PaymentFeed } from "./service/payment-feed";
import { Reconciler } from "./service/reconciler";
import { RatingRefusedUsage } from "./adapter/refused-usage";
import { RatingFeed } from "./service/rating-feed";
import { loadInvoicingSettings, type InvoicingSettings } from "./settings";

/** Exposed for tests and the bench: the parts of a running instance. */
export interface InvoicingInternals {
  cycle: BillingCycle;
  clock: ManualClock | undefined;
}

/**
 * The invoicing service. `settings` default to the environment; tests pass them explicitly.
 * A test's ManualClock (startService's clock override) or INVOICING_CLOCK=manual makes the
 * service clock controllable (AdvanceClock).
 */
/** Stand-ins for rating and limits (tests of invoicing alone); by default they are called over gRPC. */
export interface InvoicingAdapters {
  pricer?: PeriodPricer;
  credits?: CreditBurns;
}

export function createInvoicingService(
  settings?: Partial<InvoicingSettings>,
  onBuilt?: (internals: InvoicingInternals) => void,
  adapters: InvoicingAdapters = {},
): ServiceDefinition {
  return {
    name: "invoicing",
    migrations: readMigrations(path.join(__dirname, "../migrations")),
    build(deps) {
      const s = { ...loadInvoicingSettings(), ...settings };
      const clock = deps.clock instanceof ManualClock ? deps.clock : s.clock === "manual" ? new ManualClock(s.clockStart || new Date()) : deps.clock;
      const d = { ...deps, clock };
      const ratingClient = s.rating && createServiceClient(rating.Rating, s.rating.address, s.rating.apiKey);
      const limitsClient = s.limits && createServiceClient(limits.Limits, s.limits.address, s.limits.apiKey);
      const meteringClient = s.metering && createServiceClient(metering.Meter, s.metering.address, s.metering.apiKey);
      const pricer = adapters.pricer ?? (ratingClient && new RatingPeriodPricer(ratingClient));
      const credits = adapters.credits ?? (limitsClient ? new LimitsCreditBurns(limitsClient) : noCreditBurns);
      const cycle = new BillingCycle(d, pricer, credits, s.batchSize);
      const customers = new CustomerService(deps.pool, clock);
      const invoices = new InvoiceService(d, cycle);
      const reconciler = new Reconciler(
        deps.pool,
        credits,
        ratingClient && new RatingPlans(ratingClient),
        meteringClient && new MeteringUsage(meteringClient),
        ratingClient && new RatingRefusedUsage(ratingClient),
      );
      const ratingFeed = new RatingFeed(deps.pool);
      const paymentFeed = new PaymentFeed(d);
      onBuilt?.({ cycle, clock: clock instanceof ManualClock ? clock : undefined });
      const consumers: RunningConsumer[] = [];
      let timer: NodeJS.Timeout | undefined;
      let running: Promise<unknown> = Promise.resolve();
      return {
        services: [serviceRegistration({ service: invoicing.Invoicing, handlers: invoicingHandlers({ customers, invoices, cycle, clock, reconciler, issuer: s.issuer }), scopes: INVOICING_SCOPES })],
        async start() {
          const consume = (owner: "rating" | "payments", durable: string, subject: string, handle: (m: ReceivedEvent[]) => Promise<void>) =>
            startConsumer({ bus: deps.bus, owner, durable, subject, handle, logger: deps.logger, maxBatch: 200 });
          consumers.push(
            await consume("rating", "invoicing-subscriptions", SUBJECTS.rating.subscriptionChanged, (m) => ratingFeed.subscriptionsChanged(m)),
            await consume("rating", "invoicing-usage", SUBJECTS.rating.usageRated, (m) => ratingFeed.usageRated(m)),
            await consume("payments", "invoicing", allSubjectsOf("payments"), (m) => paymentFeed.handle(m)),
          );
          // A failed cycle (rating unreachable) waits twice as long before the next, up to a minute.
          let delay = s.cycleIntervalMs;
          const tick = () => {
            // Each timer cycle is a trace of its own: the periods it closes carry it on to payments.
            running = runInTrace(undefined, () => cycle.run())
              .then(() => (delay = s.cycleIntervalMs))
              .catch((err: unknown) => {
                deps.logger.warn("billing cycle failed; retrying", { err, retryMs: delay });
                delay = Math.min(delay * 2, 60_000);
              })
              .finally(() => {
                if (timer) timer = setTimeout(tick, delay).unref();
              });
          };
          timer = setTimeout(tick, delay).unref();
        },
        async stop() {
          const t = timer;
          timer = undefined;
          if (t) clearTimeout(t);
          await running;
          for (const c of consumers) await c.stop();
          ratingClient?.close();
          limitsClient?.close();
          meteringClient?.close();
        },
      };
    },
  };
}

export const invoicingService: ServiceDefinition = createInvoicingService();

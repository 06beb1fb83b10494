import * as path from "node:path";
import { payments as pb } from "@tally/contracts";
import { readMigrations, serviceRegistration, startConsumer, type RunningConsumer, type ServiceDefinition, type ServiceDeps } from "@tally/platform";
import { createStripeClient, StripeProvider } from "./adapter/stripe-provider";
import { loadPaymentsSettings, type PaymentsSettings } from "./payments-settings";
import { createPaymentsHandlers, PAYMENTS_SCOPES } from "./rpc/payments-handlers";
import { ChargeService } from "./service/charge-service";
import { Collector } from "./service/collector";
import { DunningService } from "./service/dunning-service";
import { INVOICING_SUBJECTS, InvoiceEventHandler } from "./service/invoice-events";
import { ReconciliationService } from "./service/reconciliation-service";
import type { PaymentProvider } from "./service/payment-provider";
import { RefundService } from "./service/refund-service";
import { WebhookReceiver } from "./service/webhook-receiver";

export const MIGRATIONS_DIR = path.resolve(__dirname, "../migrations");

/** Wraps the provider (benchmarks time its calls). */
export type ProviderWrapper = (provider: PaymentProvider) => PaymentProvider;

export interface PaymentsApp {
  collector: Collector;
  charges: ChargeService;
  refunds: RefundService;
  dunning: DunningService;
  invoiceEvents: InvoiceEventHandler;
  reconciliation: ReconciliationService;
  webhooks: WebhookReceiver;
  /** The address the webhook endpoint listens on, once started. */
  webhookAddress?: string;
  /** One sweep: due retries, then attempts and refunds whose outcome was lost. */
  sweep(resolveAfterMs?: number): Promise<void>;
}

/** Wires payments from the platform's dependencies and its settings (tests use it directly). */
export function createPaymentsApp(deps: ServiceDeps, settings: PaymentsSettings, wrapProvider: ProviderWrapper = (p) => p): PaymentsApp {
  const stripe = createStripeClient({ secretKey: settings.stripeSecretKey, apiBase: settings.stripeApiBase, timeoutMs: settings.stripeTimeoutMs });
  const provider = wrapProvider(new StripeProvider(stripe));
  const { pool, clock, outbox, logger } = deps;
  const refunds = new RefundService({ pool, clock, provider, outbox, logger });
  const collector = new Collector({
    pool,
    clock,
    provider,
    outbox,
    logger,
    scheduleDays: settings.dunningScheduleDays,
    concurrency: settings.providerConcurrency,
    refunds,
    providerTimeoutMs: settings.stripeTimeoutMs,
  });
  const dunning = new DunningService({ pool, clock, collector });
  return {
    collector,
    refunds,
    dunning,
    charges: new ChargeService({ pool, collector, provider }),
    invoiceEvents: new InvoiceEventHandler({ pool, clock, collector, refunds, logger }),
    reconciliation: new ReconciliationService({ pool, provider }),
    webhooks: new WebhookReceiver({ pool, clock, logger, stripe, secret: settings.stripeWebhookSecret, toleranceSeconds: settings.webhookToleranceSeconds, collector, refunds }),
    async sweep(resolveAfterMs = settings.resolveAfterMs) {
      await dunning.runDue();
      await collector.resolvePending(resolveAfterMs);
      await refunds.resolvePending(resolveAfterMs);
      this.webhooks.kick();
    },
  };
}

/**
 * The payments service: tally.payments.v1.Payments, the consumer of invoicing's events, the
 * webhook endpoint and the sweep (dunning, lost outcomes). `settings` overrides the
 * environment (tests, benchmarks); `onApp` hands tests the wired app.
 */
export function createPaymentsService(settings?: Partial<PaymentsSettings>, onApp?: (app: PaymentsApp) => void, wrapProvider?: ProviderWrapper): ServiceDefinition {
  return {
    name: "payments",
    migrations: readMigrations(MIGRATIONS_DIR),
    build(deps) {
      const resolved = { ...loadPaymentsSettings({ ...process.env, ...secretsFrom(settings) }), ...settings };
      const app = createPaymentsApp(deps, resolved, wrapProvider);
      onApp?.(app);
      let consumer: RunningConsumer | undefined;
      let timer: NodeJS.Timeout | undefined;
      let sweeping: Promise<void> | undefined;
      return {
        services: [
          serviceRegistration({
            service: pb.Payments,
            handlers: createPaymentsHandlers({ charges: app.charges, refunds: app.refunds, reconciliation: app.reconciliation, providerName: "stripe" }),
            scopes: PAYMENTS_SCOPES,
          }),
        ],
        async start() {
          // Whatever a previous process left unfinished (kill -9 mid-attempt) is resolved first.
          await app.sweep(0);
          app.webhookAddress = await app.webhooks.listen(resolved.webhookAddress);
          deps.logger.info("webhooks listening", { address: app.webhookAddress });
          consumer = await startConsumer({
            bus: deps.bus,
            owner: "invoicing",
            durable: "payments",
            subject: INVOICING_SUBJECTS,
            handle: (messages) => app.invoiceEvents.handle(messages),
            logger: deps.logger,
            maxBatch: 500,
            ackWaitMs: 120_000,
          });
          timer = setInterval(() => {
            sweeping ??= app
              .sweep()
              .catch((err: unknown) => deps.logger.warn("payments sweep failed; will retry", { err }))
              .finally(() => (sweeping = undefined));
          }, resolved.sweepIntervalMs);
          timer.unref();
        },
        async stop() {
          if (timer) clearInterval(timer);
          await sweeping;
          await consumer?.stop();
          await app.collector.idle();
          await app.webhooks.close();
        },
      };
    },
  };
}

/** Lets overrides satisfy the required variables without putting secrets in the environment. */
function secretsFrom(settings: Partial<PaymentsSettings> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (settings?.stripeSecretKey) out.STRIPE_SECRET_KEY = settings.stripeSecretKey;
  if (settings?.stripeWebhookSecret) out.STRIPE_WEBHOOK_SECRET = settings.stripeWebhookSecret;
  return out;
}

export const paymentsService: ServiceDefinition = createPaymentsService();

import { startStripeLocal } from "./server";

// `npm start -w tools/stripe-local`, or started by `npm start`: STRIPE_LOCAL_PORT (default 12111),
// STRIPE_LOCAL_WEBHOOK_URL + STRIPE_WEBHOOK_SECRET to deliver signed events, STRIPE_SECRET_KEY
// to require one key (any sk_test_… otherwise). The secrets are never printed.
void (async () => {
  const env = process.env;
  const server = await startStripeLocal({
    port: Number(env.STRIPE_LOCAL_PORT ?? 12111),
    secretKey: env.STRIPE_SECRET_KEY || undefined,
    webhookUrl: env.STRIPE_LOCAL_WEBHOOK_URL || undefined,
    webhookSecret: env.STRIPE_WEBHOOK_SECRET || undefined,
  });
  process.stderr.write(`stripe-local listening on ${server.url}${env.STRIPE_LOCAL_WEBHOOK_URL ? `, webhooks to ${env.STRIPE_LOCAL_WEBHOOK_URL}` : ""}\n`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
})();

import type { ServiceDefinition } from "@tally/platform";

/**
 * Payments runs today as a shell: it owns its schema (so far only the platform
 * outbox), answers health checks and shuts down gracefully. Its contract is
 * sketched in proto/tally/payments/v1; the rpcs are not served yet, so callers
 * get UNIMPLEMENTED rather than a made-up answer.
 */
export const paymentsService: ServiceDefinition = {
  name: "payments",
  migrations: [],
  build: () => ({ services: [] }),
};

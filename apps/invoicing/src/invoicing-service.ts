import type { ServiceDefinition } from "@tally/platform";

/**
 * Invoicing runs today as a shell: it owns its schema (so far only the platform
 * outbox), answers health checks and shuts down gracefully. Its contract is
 * sketched in proto/tally/invoicing/v1; the rpcs are not served yet, so callers
 * get UNIMPLEMENTED rather than a made-up answer.
 */
export const invoicingService: ServiceDefinition = {
  name: "invoicing",
  migrations: [],
  build: () => ({ services: [] }),
};

export { startStripeLocal, type StripeLocal, type StripeLocalOptions } from "./server";
export type { Fault, FaultAction } from "./faults";
export { signPayload, type WebhookEndpoint, type WebhookFaults } from "./webhook-sender";
export { TEST_CARDS } from "./test-cards";

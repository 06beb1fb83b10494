export { createPaymentsApp, createPaymentsService, paymentsService, type PaymentsApp, type ProviderWrapper } from "./payments-service";
export { loadPaymentsSettings, type PaymentsSettings } from "./payments-settings";

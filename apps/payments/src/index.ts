export { createPaymentsApp, createPaymentsService, paymentsService, type PaymentsApp } from "./payments-service";
export { loadPaymentsSettings, type PaymentsSettings } from "./payments-settings";

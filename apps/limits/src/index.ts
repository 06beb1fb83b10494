export { limitsService, createLimitsApp, type LimitsApp } from "./limits-service";

export * from "./test-database";
export * from "./test-environment";
export * from "./test-keys";
export * from "./grpc-client";
export { ManualClock } from "../clock/clock";
export * from "./health-check";
export * from "./raw-call";
export * from "./tcp-proxy";
export * from "./metric-scrape";

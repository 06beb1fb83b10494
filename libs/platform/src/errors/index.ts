// Sub-entry `@tally/platform/errors`: pure domain code imports its errors and Violations from here
// without loading grpc-js, pg or nats (the package root loads all three).
export * from "./errors";

/**
 * The services of the API and each one's well-known default port when several run on one
 * machine (README "Services"). The platform reads this; it keeps no list of its own.
 */
export const DEFAULT_PORTS = {
  metering: 50051,
  rating: 50052,
  limits: 50053,
  invoicing: 50054,
  payments: 50055,
} as const;

/** A Tally service, by the name of its proto package (`tally.<service>.v1`). */
export type ServiceName = keyof typeof DEFAULT_PORTS;

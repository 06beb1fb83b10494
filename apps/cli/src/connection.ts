import type { DescService } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { invoicing, limits, metering, payments, rating } from "@tally/contracts";

/** The five services, their flag, environment variable and default address (as `npm start` serves them). */
export const SERVICES = {
  metering: { env: "TALLY_METERING_ADDRESS", address: "127.0.0.1:50051", descriptor: metering.Meter },
  rating: { env: "TALLY_RATING_ADDRESS", address: "127.0.0.1:50052", descriptor: rating.Rating },
  limits: { env: "TALLY_LIMITS_ADDRESS", address: "127.0.0.1:50053", descriptor: limits.Limits },
  invoicing: { env: "TALLY_INVOICING_ADDRESS", address: "127.0.0.1:50054", descriptor: invoicing.Invoicing },
  payments: { env: "TALLY_PAYMENTS_ADDRESS", address: "127.0.0.1:50055", descriptor: payments.Payments },
} as const;

export type ServiceKey = keyof typeof SERVICES;

/** The local development key `npm start` configures (tools/start.js). */
export const DEFAULT_API_KEY = "tally_dev_key_change_me";

export interface ConnectionOptions {
  addresses: Record<ServiceKey, string>;
  apiKey: string;
}

/** Flag, else environment variable, else the default. */
export function resolveConnection(flags: Partial<Record<ServiceKey | "key", string>>, env: Record<string, string | undefined>): ConnectionOptions {
  const addresses = {} as Record<ServiceKey, string>;
  for (const [key, service] of Object.entries(SERVICES) as [ServiceKey, (typeof SERVICES)[ServiceKey]][]) {
    addresses[key] = flags[key] ?? nonEmpty(env[service.env]) ?? service.address;
  }
  return { addresses, apiKey: flags.key ?? nonEmpty(env.TALLY_API_KEY) ?? DEFAULT_API_KEY };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value && value.trim() !== "" ? value.trim() : undefined;
}

type Descriptor<K extends ServiceKey> = (typeof SERVICES)[K]["descriptor"];

/**
 * gRPC clients (connect-node, real gRPC over HTTP/2) opened on first use, so a command only
 * connects to the services it calls. Built here rather than with the platform's
 * createServiceClient: importing @tally/platform loads the server side too (Postgres, NATS,
 * the gRPC server), which doubled the CLI's start-up time.
 */
export class Connections {
  private readonly open = new Map<ServiceKey, { client: Client<DescService>; sessions: Http2SessionManager }>();

  constructor(readonly options: ConnectionOptions) {}

  client<K extends ServiceKey>(key: K): Client<Descriptor<K>> {
    let entry = this.open.get(key);
    if (!entry) {
      const baseUrl = `http://${this.options.addresses[key]}`;
      const sessions = new Http2SessionManager(baseUrl);
      const authorization = `Bearer ${this.options.apiKey}`;
      const transport = createGrpcTransport({
        baseUrl,
        sessionManager: sessions,
        interceptors: [
          (next) => (request) => {
            request.header.set("authorization", authorization);
            return next(request);
          },
        ],
      });
      entry = { client: createClient(SERVICES[key].descriptor as DescService, transport), sessions };
      this.open.set(key, entry);
    }
    return entry.client as unknown as Client<Descriptor<K>>;
  }

  /** Closes the HTTP/2 sessions so the process can exit. */
  close(): void {
    for (const entry of this.open.values()) entry.sessions.abort();
    this.open.clear();
  }
}

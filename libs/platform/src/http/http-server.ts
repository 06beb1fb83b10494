import * as http from "node:http";
import type * as net from "node:net";
import type { Logger } from "../logging/logger";
import type { ApiKeys } from "../grpc/api-keys";
import type { AnyRegistration } from "../grpc/server";
import type { ServiceMetrics } from "../metrics/service-metrics";
import { createConnectHandler, type NodeRequest, type NodeResponse } from "./connect-handler";

export interface HttpServerOptions {
  /** `host:port`; port 0 picks a free one. */
  address: string;
  services: AnyRegistration[];
  apiKeys: ApiKeys;
  logger: Logger;
  maxRequestBytes: number;
  metrics: ServiceMetrics;
  /** Answer rpcs only after `open()` (as the gRPC server's `startClosed`); `/metrics` answers at once. */
  startClosed?: boolean;
}

const CORS_HEADERS = {
  "access-control-allow-origin": "*",
  "access-control-expose-headers": "grpc-status, grpc-message, grpc-status-details-bin, tally-error-reason, tally-error-field",
};
const CORS_PREFLIGHT_HEADERS = {
  "access-control-allow-methods": "POST, GET",
  "access-control-allow-headers": "authorization, content-type, connect-protocol-version, connect-timeout-ms, x-grpc-web, x-user-agent, grpc-timeout",
  "access-control-max-age": "7200",
};

export interface RunningHttpServer {
  port: number;
  address: string;
  open(): void;
  /** Stops accepting connections, lets requests in flight finish for up to `graceMs`, then cuts the rest. */
  shutdown(graceMs?: number): Promise<void>;
}

/**
 * The service's HTTP/1.1 port: Connect and gRPC-Web (JSON and binary) for browsers and curl, and
 * `GET /metrics` for Prometheus. HTTP/2 clients use the gRPC port (grpc-js, the fast path).
 * Unencrypted, like the gRPC port: TLS ends at the load balancer.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const state = { open: !options.startClosed };
  const rpc = createConnectHandler({ ...options, isOpen: () => state.open });
  const handle = (req: NodeRequest, res: NodeResponse) => {
    // Browsers on other origins (a console, connect-web) may call: the API key, not a cookie,
    // is the credential, so allowing any origin grants nothing a caller does not already hold.
    for (const [name, value] of Object.entries(CORS_HEADERS)) res.setHeader(name, value);
    if (req.method === "OPTIONS") {
      res.writeHead(204, CORS_PREFLIGHT_HEADERS);
      return void res.end();
    }
    if (rpc(req, res)) return;
    if (req.url === "/metrics" && req.method === "GET") return void serveMetrics(options.metrics, res, options.logger);
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found: POST /<package>.<Service>/<Method> (Connect or gRPC-Web), or GET /metrics\n");
  };
  const server = http.createServer(handle);
  const separator = options.address.lastIndexOf(":");
  const host = options.address.slice(0, separator);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(options.address.slice(separator + 1)), host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    address: `${host}:${port}`,
    open: () => (state.open = true),
    shutdown: (graceMs = 10_000) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        // Idle keep-alive connections would hold close() open until the grace ends.
        server.closeIdleConnections();
      }),
  };
}

function serveMetrics(metrics: ServiceMetrics, res: NodeResponse, logger: Logger): void {
  metrics.scrape().then(
    (text) => {
      res.writeHead(200, { "content-type": metrics.contentType });
      res.end(text);
    },
    (err: unknown) => {
      logger.error("metrics scrape failed", { err });
      res.writeHead(500);
      res.end();
    },
  );
}

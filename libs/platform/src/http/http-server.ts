import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
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

export interface RunningHttpServer {
  port: number;
  address: string;
  open(): void;
  /** Stops accepting connections, lets requests in flight finish for up to `graceMs`, then cuts the rest. */
  shutdown(graceMs?: number): Promise<void>;
}

/** The first bytes of every HTTP/2 connection with prior knowledge (h2c), RFC 9113 §3.4. */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * The service's HTTP port: Connect and gRPC-Web for browsers and curl (HTTP/1.1, or HTTP/2 with
 * prior knowledge — one port, told apart by the connection's first bytes), and `GET /metrics`
 * for Prometheus. Unencrypted, like the gRPC port: TLS ends at the load balancer.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const state = { open: !options.startClosed };
  const rpc = createConnectHandler({ ...options, isOpen: () => state.open });
  const handle = (req: NodeRequest, res: NodeResponse) => {
    if (rpc(req, res)) return;
    if (req.url === "/metrics" && req.method === "GET") return void serveMetrics(options.metrics, res, options.logger);
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found: POST /<package>.<Service>/<Method> (Connect or gRPC-Web), or GET /metrics\n");
  };
  const h1 = http.createServer(handle);
  const h2 = http2.createServer(handle);
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.once("readable", () => {
      const head: Buffer | null = socket.read();
      if (!head) return void socket.destroy();
      socket.unshift(head);
      (head.equals(H2_PREFACE.subarray(0, head.length)) ? h2 : h1).emit("connection", socket);
    });
  });
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
        const timer = setTimeout(() => {
          for (const session of sessions) session.destroy();
          for (const socket of sockets) socket.destroy();
        }, graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        // Idle keep-alive connections would hold close() open until the grace ends.
        h1.closeIdleConnections();
        for (const session of sessions) session.close();
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

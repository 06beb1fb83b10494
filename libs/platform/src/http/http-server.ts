import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { Duplex } from "node:stream";
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

/** The first bytes of every HTTP/2 connection with prior knowledge (h2c), RFC 9113 §3.4. */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

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
 * The service's HTTP port: Connect and gRPC-Web (JSON and binary) for browsers and curl, over
 * HTTP/1.1 or HTTP/2 with prior knowledge (one port, told apart by the connection's first bytes),
 * and `GET /metrics` for Prometheus. Real gRPC stays on the gRPC port (grpc-js, the fast path).
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
    // HTTP/2 with prior knowledge starts with a fixed preface; anything else is HTTP/1.1.
    socket.once("readable", () => {
      const head: Buffer | null = socket.read();
      if (!head) return void socket.destroy();
      const n = Math.min(head.length, H2_PREFACE.length);
      if (head.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) {
        h2.emit("connection", replaying(socket, head));
      } else {
        socket.unshift(head);
        h1.emit("connection", socket);
      }
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
          for (const socket of sockets) socket.destroy();
        }, graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        // Idle keep-alive connections would hold close() open until the grace ends.
        h1.closeIdleConnections();
        for (const session of sessions) session.close(); // finishes its open streams, takes no new ones
      }),
  };
}

/**
 * The socket as a stream that first yields the bytes already read from it. http/1 reads through
 * JavaScript, so `unshift` is enough there; http2 reads the socket's native handle, past any
 * unshifted bytes, so it gets this wrapper (which Node runs through its JS stream adapter).
 */
function replaying(socket: net.Socket, head: Buffer): Duplex {
  const duplex = new Duplex({
    read: () => void socket.resume(),
    write: (chunk: Buffer, _encoding, callback) => void socket.write(chunk, callback),
    final: (callback) => void socket.end(callback),
  });
  duplex.push(head);
  socket.on("data", (chunk) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.once("end", () => duplex.push(null));
  return duplex;
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

import * as net from "node:net";

export interface TcpProxy {
  /** `host:port` to connect to instead of the target. */
  address: string;
  port: number;
  /** Forward new connections (the default). */
  up(): void;
  /** Cut every open connection and refuse new ones: the target seems to have crashed. */
  down(): void;
  close(): Promise<void>;
}

/**
 * A TCP forwarder that can "crash" what is behind it: tests make Postgres seem to restart
 * (every connection cut mid-query, new ones refused, then back) without touching the shared
 * server other tests use.
 */
export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  let forwarding = true;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (!forwarding) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    open.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    port,
    up: () => {
      forwarding = true;
    },
    down: () => {
      forwarding = false;
      for (const socket of open) socket.destroy();
      open.clear();
    },
    close: () => {
      forwarding = false;
      for (const socket of open) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A database URL with its host and port replaced by the proxy's. */
export function viaProxy(databaseUrl: string, proxy: TcpProxy): string {
  const url = new URL(databaseUrl);
  url.hostname = "127.0.0.1";
  url.port = String(proxy.port);
  return url.toString();
}

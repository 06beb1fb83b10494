import { Events, type NatsConnection } from "nats";
import type { Logger } from "../logging/logger";

export interface NatsWatch {
  readonly up: boolean;
  stop(): void;
}

/**
 * Follows the connection's status so health can say NOT_SERVING while no NATS server is
 * reachable and SERVING once the client has reconnected (to the same server or another one
 * of the cluster) — the client reconnects by itself; nothing here restarts anything.
 * Starts "up": it is started once the service has connected.
 */
export function watchNatsConnection(connection: NatsConnection, options: { logger: Logger; onChange(up: boolean): void }): NatsWatch {
  let up = true;
  let stopped = false;
  let downSince = 0;
  const set = (now: boolean) => {
    if (stopped || now === up) return;
    up = now;
    if (now) options.logger.info("NATS is back", { server: connection.getServer(), downForMs: Date.now() - downSince });
    else {
      downSince = Date.now();
      options.logger.warn("NATS unreachable: reporting NOT_SERVING until the client reconnects");
    }
    options.onChange(now);
  };
  void (async () => {
    for await (const status of connection.status()) {
      if (status.type === Events.Disconnect) set(false);
      else if (status.type === Events.Reconnect) set(true);
    }
  })().catch(() => undefined);
  return {
    get up() {
      return up;
    },
    stop() {
      stopped = true;
    },
  };
}

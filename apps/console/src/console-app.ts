import { once } from "node:events";
import type { Server } from "node:http";
import { createLogger, type Logger } from "@tally/platform";
import { subscribeCustomerEvents, type CustomerEvents } from "./adapter/customer-events";
import { TallyServices } from "./adapter/tally-services";
import { createConsoleServer, listeningUrl } from "./http/console-server";
import { buildCustomerPage } from "./service/customer-page";
import { LiveUpdates } from "./service/live-updates";
import type { ConsoleSettings } from "./settings";

export interface RunningConsole {
  /** e.g. "http://127.0.0.1:8080". */
  url: string;
  stop(): Promise<void>;
}

/** Wires the console: service clients, the event subscription for live pages, the HTTP server. */
export async function startConsole(settings: ConsoleSettings, log: Logger = createLogger({ service: "console" }, settings.logLevel)): Promise<RunningConsole> {
  const services = new TallyServices(
    {
      metering: settings.meteringAddress,
      rating: settings.ratingAddress,
      limits: settings.limitsAddress,
      invoicing: settings.invoicingAddress,
      payments: settings.paymentsAddress,
    },
    settings.apiKey,
  );
  const live = new LiveUpdates((customerId, emit) => buildCustomerPage(services, log, customerId, emit), log);
  let events: CustomerEvents | undefined;
  let server: Server | undefined;
  const stop = async () => {
    if (server) {
      server.closeAllConnections(); // SSE streams never end on their own
      server.close();
    }
    live.close();
    await events?.close();
    services.close();
  };
  try {
    events = await subscribeCustomerEvents({ url: settings.natsUrl, prefix: settings.natsPrefix, log }, (customerId) => live.customerChanged(customerId));
    server = createConsoleServer({ services, live, log });
    server.listen(settings.httpAddress.port, settings.httpAddress.host);
    await once(server, "listening");
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: listeningUrl(server), stop };
}

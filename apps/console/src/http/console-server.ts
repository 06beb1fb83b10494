import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "@tally/platform";
import type { TallyServices } from "../adapter/tally-services";
import { SectionUnavailableError } from "../domain/errors";
import type { InvoiceDocumentFile } from "../domain/records";
import { buildCustomerPage } from "../service/customer-page";
import type { LiveUpdates } from "../service/live-updates";
import { buildOverviewPage } from "../service/overview-page";
import { staticFile } from "./static-files";

export interface ConsoleHttpDeps {
  services: TallyServices;
  live: LiveUpdates;
  log: Logger;
}

const KEEPALIVE_MS = 15_000;

/**
 * The console's HTTP surface: the pages and their assets, JSON for them, server-sent events for
 * live customer pages, and invoice documents (PDF, HTML) as invoicing renders them.
 */
export function createConsoleServer(deps: ConsoleHttpDeps): Server {
  return createServer((req, res) => {
    route(deps, req, res).catch((err: unknown) => {
      deps.log.error("request failed", { url: req.url, err });
      if (!res.headersSent) send(res, 500, "text/plain; charset=utf-8", "internal error");
      else res.end();
    });
  });
}

async function route(deps: ConsoleHttpDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { pathname } = new URL(req.url ?? "/", "http://console");
  if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "text/plain; charset=utf-8", "method not allowed");
  let m: RegExpExecArray | null;
  if (pathname === "/api/overview") return json(res, await buildOverviewPage(deps.services, deps.log));
  if ((m = /^\/api\/customers\/([^/]+)$/.exec(pathname))) return json(res, await buildCustomerPage(deps.services, deps.log, decodeURIComponent(m[1]!)));
  if ((m = /^\/api\/customers\/([^/]+)\/events$/.exec(pathname))) return events(deps, decodeURIComponent(m[1]!), req, res);
  if ((m = /^\/invoices\/([^/]+)\.(pdf|html)$/.exec(pathname))) return invoice(deps, decodeURIComponent(m[1]!), m[2] as "pdf" | "html", res);
  if ((m = /^\/credit-notes\/([^/]+)\.(pdf|html)$/.exec(pathname))) return document(() => deps.services.creditNoteDocument(decodeURIComponent(m![1]!), m![2] as "pdf" | "html"), m[2] as "pdf" | "html", res);
  const file = await staticFile(/^\/customers\/[^/]+$/.test(pathname) ? "/customer" : pathname);
  if (file) return send(res, 200, file.type, file.body);
  send(res, 404, "text/plain; charset=utf-8", "not found");
}

/**
 * Server-sent events, one `sections` event per block as it is ready: the page now, then again
 * after every change (see LiveUpdates).
 */
async function events(deps: ConsoleHttpDeps, customerId: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
  let open = true;
  // A build may finish after the browser left: nothing is written to a closed stream.
  const write = (chunk: string) => open && res.write(chunk);
  const push = (update: object) => write(`event: sections\ndata: ${JSON.stringify(update)}\n\n`);
  const stop = deps.live.watch(customerId, push);
  const keepalive = setInterval(() => write(": keepalive\n\n"), KEEPALIVE_MS);
  req.on("close", () => {
    open = false;
    clearInterval(keepalive);
    stop();
  });
  await buildCustomerPage(deps.services, deps.log, customerId, push);
}

function invoice(deps: ConsoleHttpDeps, invoiceId: string, format: "pdf" | "html", res: ServerResponse): Promise<void> {
  return document(() => deps.services.invoiceDocument(invoiceId, format), format, res);
}

/** An invoice's or credit note's document as invoicing rendered it; 404 when invoicing knows no such id. */
async function document(render: () => Promise<InvoiceDocumentFile>, format: "pdf" | "html", res: ServerResponse): Promise<void> {
  try {
    const file = await render();
    if (format === "pdf") res.setHeader("content-disposition", `inline; filename="${file.fileName}"`);
    send(res, 200, file.contentType, file.content);
  } catch (err) {
    if (!(err instanceof SectionUnavailableError)) throw err;
    const status = err.reason === "not_found" ? 404 : 503;
    send(res, status, "text/plain; charset=utf-8", err.reason === "not_available" ? "invoicing not available" : err.message);
  }
}

function json(res: ServerResponse, body: unknown): void {
  send(res, 200, "application/json; charset=utf-8", JSON.stringify(body));
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

export const listeningUrl = (server: Server) => {
  const a = server.address() as AddressInfo;
  return `http://${a.address}:${a.port}`;
};

import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { canonical, parseForm, type Form } from "./form";
import { FaultPlan, type Fault } from "./faults";
import { newId } from "./ids";
import { IdempotencyStore, type StoredResponse } from "./idempotency-store";
import { publicView, StripeApi, type ApiContext, type StripeObject } from "./stripe-api";
import { apiError, authenticationError, invalidRequest, StripeError } from "./stripe-error";
import { WebhookSender, type WebhookFaults } from "./webhook-sender";

export interface StripeLocalOptions {
  port?: number;
  host?: string;
  /** The secret key clients must send; any `sk_test_…` key is accepted when unset. */
  secretKey?: string;
  /** Where events are POSTed, signed with `webhookSecret` (or set `webhooks.endpoint` later). None when unset. */
  webhookUrl?: string;
  webhookSecret?: string;
  /** Unix ms for `created` fields and webhook signatures (tests pass their clock). */
  now?: () => number;
}

export interface StripeLocal {
  url: string;
  host: string;
  port: number;
  api: StripeApi;
  faults: FaultPlan;
  webhooks: WebhookSender;
  /** Requests answered (or dropped) per `METHOD /path` with ids replaced by `:id`. */
  requestCounts: Map<string, number>;
  /** The W3C `traceparent` header of each request that sent one, in arrival order. */
  traceparents: { request: string; idempotencyKey: string; traceparent: string }[];
  close(): Promise<void>;
}

type Handler = (ctx: ApiContext, form: Form, params: string[]) => unknown;

/**
 * Starts the Stripe-compatible local server: form-encoded requests, Stripe's JSON objects and
 * error shapes, Idempotency-Key replay, test cards, signed webhooks and injectable faults.
 * Control endpoints under `/_stripe_local/` let a test in another process set faults.
 */
export async function startStripeLocal(options: StripeLocalOptions = {}): Promise<StripeLocal> {
  const now = options.now ?? Date.now;
  const api = new StripeApi();
  const faults = new FaultPlan();
  const idempotency = new IdempotencyStore();
  const webhooks = new WebhookSender(now, options.webhookUrl ? { url: options.webhookUrl, secret: options.webhookSecret ?? "" } : undefined);
  const requestCounts = new Map<string, number>();
  const traceparents: StripeLocal["traceparents"] = [];

  const routes: [string, RegExp, Handler][] = [
    ["POST", /^\/v1\/customers$/, (c, f) => api.createCustomer(f, c)],
    ["GET", /^\/v1\/customers\/([^/]+)$/, (_c, _f, [id]) => api.getCustomer(id!)],
    ["POST", /^\/v1\/customers\/([^/]+)$/, (c, f, [id]) => api.updateCustomer(id!, f, c)],
    ["POST", /^\/v1\/payment_methods\/([^/]+)\/attach$/, (c, f, [id]) => api.attach(id!, requireString(f, "customer"), c)],
    ["GET", /^\/v1\/payment_methods\/([^/]+)$/, (_c, _f, [id]) => api.getPaymentMethod(id!)],
    ["GET", /^\/v1\/payment_intents\/search$/, (_c, f) => api.searchPaymentIntents(f)],
    ["POST", /^\/v1\/payment_intents$/, (c, f) => api.createPaymentIntent(f, c)],
    ["GET", /^\/v1\/payment_intents$/, (_c, f) => api.listPaymentIntents(f)],
    ["GET", /^\/v1\/payment_intents\/([^/]+)$/, (_c, _f, [id]) => api.getPaymentIntent(id!)],
    ["POST", /^\/v1\/payment_intents\/([^/]+)\/cancel$/, (c, f, [id]) => api.cancelPaymentIntent(id!, f, c)],
    ["POST", /^\/v1\/refunds$/, (c, f) => api.createRefund(f, c)],
    ["GET", /^\/v1\/refunds$/, (_c, f) => api.listRefunds(f)],
    ["GET", /^\/v1\/refunds\/([^/]+)$/, (_c, _f, [id]) => api.getRefund(id!)],
    ["GET", /^\/v1\/events$/, (_c, f) => api.listEvents(f)],
    ["GET", /^\/v1\/events\/([^/]+)$/, (_c, _f, [id]) => api.getEvent(id!)],
  ];

  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void handle(req, res, Buffer.concat(chunks).toString("utf8"));
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, body: string): Promise<void> {
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname.startsWith("/_stripe_local/")) return control(url.pathname, body, res);
    count(method, url.pathname);
    const traceparent = req.headers.traceparent;
    if (typeof traceparent === "string") traceparents.push({ request: `${method} ${url.pathname}`, idempotencyKey: String(req.headers["idempotency-key"] ?? ""), traceparent });
    const requestId = newId("req");
    const send = (response: StoredResponse, replayed = false) => {
      const headers: http.OutgoingHttpHeaders = { "content-type": "application/json", "request-id": requestId, "stripe-version": String(req.headers["stripe-version"] ?? "2026-10-28.endive") };
      const key = req.headers["idempotency-key"];
      if (key && method === "POST") headers["idempotency-key"] = key;
      if (replayed) headers["idempotent-replayed"] = "true";
      res.writeHead(response.status, headers);
      res.end(JSON.stringify(response.body, null, 2));
    };

    const apiKey = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!apiKey || (options.secretKey ? apiKey !== options.secretKey : !apiKey.startsWith("sk_test_"))) {
      return send(errorResponse(authenticationError(apiKey)));
    }
    if (faults.take(method, url.pathname, ["error_500"])) return send(errorResponse(apiError()));

    const route = routes.find(([m, pattern]) => m === method && pattern.test(url.pathname));
    if (!route) return send(errorResponse(invalidRequest(`Unrecognized request URL (${method}: ${url.pathname}).`)));
    const form = parseForm(method === "GET" ? url.search.slice(1) : body);
    const idemKey = method === "POST" ? (req.headers["idempotency-key"] as string | undefined) : undefined;

    let response: StoredResponse;
    let replayed = false;
    try {
      const seen = idemKey ? idempotency.begin(apiKey, idemKey, `${method} ${url.pathname} ${canonical(form)}`) : undefined;
      if (seen?.kind === "replay") {
        response = seen.response;
        replayed = true;
      } else {
        const decline = method === "POST" && url.pathname === "/v1/payment_intents" ? faults.take(method, url.pathname, ["decline"]) : undefined;
        const ctx: ApiContext = { now, emit: (e) => webhooks.send(e), forcedDecline: decline?.declineCode ?? (decline ? "generic_decline" : undefined), idempotencyKey: idemKey };
        const result = route[2](ctx, form, route[1].exec(url.pathname)!.slice(1));
        response = { status: 200, body: isObject(result) ? publicView(result) : result };
      }
    } catch (err) {
      if (!(err instanceof StripeError)) throw err;
      // Conflicts on the key itself never started executing: nothing is stored for them.
      if (err.body.type === "idempotency_error") return send(errorResponse(err));
      response = errorResponse(err);
    }
    if (idemKey && !replayed) idempotency.finish(apiKey, idemKey, response);

    // The work is done and stored; what the caller hears is what the faults say.
    const fault = faults.take(method, url.pathname, ["lose_response", "delay_response"]);
    if (fault?.action === "lose_response") {
      req.socket.destroy();
      return;
    }
    if (fault?.action === "delay_response") await sleep(fault.delayMs ?? 30_000);
    if (!res.destroyed) send(response, replayed);
  }

  function count(method: string, path: string): void {
    const key = `${method} ${path.replace(/\/(cus|pi|pm|re|evt|ch)_[A-Za-z0-9]+/g, "/:id")}`;
    requestCounts.set(key, (requestCounts.get(key) ?? 0) + 1);
  }

  /** Faults from another process: POST /_stripe_local/faults with `{ faults: [...], webhooks: {...} }`; `/_stripe_local/faults/pending` lists those not yet served. */
  function control(path: string, body: string, res: http.ServerResponse): void {
    try {
      const input = body ? (JSON.parse(body) as { faults?: Fault[]; webhooks?: WebhookFaults; order?: "forward" | "reverse" }) : {};
      if (path === "/_stripe_local/faults") {
        faults.add(...(input.faults ?? []));
        if (input.webhooks) webhooks.faults = input.webhooks;
      } else if (path === "/_stripe_local/webhooks/release") {
        webhooks.release(input.order);
      } else if (path === "/_stripe_local/faults/pending") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ pending: faults.pending() }));
        return;
      } else if (path === "/_stripe_local/requests") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(Object.fromEntries(requestCounts)));
        return;
      } else {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(204).end();
    } catch (err) {
      res.writeHead(400, { "content-type": "text/plain" }).end(String(err));
    }
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve));
  const { port, address } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    host: address,
    port,
    api,
    faults,
    webhooks,
    requestCounts,
    traceparents,
    async close() {
      await webhooks.idle();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function errorResponse(err: StripeError): StoredResponse {
  return { status: err.status, body: err.toJSON() };
}

function requireString(form: Form, param: string): string {
  const value = form[param];
  if (typeof value !== "string" || value === "") throw invalidRequest(`Missing required param: ${param}.`, param, "parameter_missing");
  return value;
}

function isObject(value: unknown): value is StripeObject {
  return typeof value === "object" && value !== null && "object" in value && "id" in value;
}

function sleep(ms: number): Promise<void> {
  // unref: a held response (a fault) must not keep a test process alive after close().
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

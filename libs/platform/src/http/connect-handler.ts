import type * as http from "node:http";
import { runInTrace, TRACEPARENT_HEADER } from "../logging/trace-context";
import type * as http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { ConnectError, createConnectRouter, createContextKey, createContextValues, type HandlerContext } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import { codeFromHttpStatus, codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus, trailerFlag, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import type { DescMessage } from "@bufbuild/protobuf";
import type { Logger } from "../logging/logger";
import { Code, TallyError } from "../errors/errors";
import type { ApiKeys, Principal, Scope } from "../grpc/api-keys";
import { authorize } from "../grpc/authorization";
import type { CallContext } from "../grpc/call-context";
import { findNulCharacter } from "../grpc/request-decoding";
import { grpcCodeName, normalizeRpcError, toConnectError } from "../grpc/rpc-errors";
import { StartingError, type AnyRegistration } from "../grpc/server";
import type { RpcRecorder, ServiceMetrics } from "../metrics/service-metrics";

export type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

export interface ConnectHandlerOptions {
  services: AnyRegistration[];
  apiKeys: ApiKeys;
  logger: Logger;
  maxRequestBytes: number;
  metrics?: ServiceMetrics;
  /** False while the service waits for its database at start: calls answer UNAVAILABLE. */
  isOpen(): boolean;
}

/** Set by the pre-check: who is calling, and where the call's outcome is recorded. */
interface CallState {
  principal: Principal;
  /** `performance.now()` when the headers arrived. */
  started: number;
  /** Set once the handler ran and recorded the call; a call that failed before it (body undecodable, too large) stays unset. */
  recorded?: boolean;
}
const CALL_STATE = createContextKey<CallState | undefined>(undefined);

/**
 * The same handlers as the gRPC port, served over the Connect protocol and gRPC-Web (JSON and
 * binary), with the same rules: the API key is checked from the headers before the body is
 * read (a refused caller costs no parsing), then connect-es decodes the body (size limited to the
 * service's maximum), U+0000 is refused naming the field, and every error goes through the one
 * mapping — a Connect error carries the tally.common.v1.ErrorDetail in its details.
 * Returns false for a path that is not an rpc, so the caller can serve other routes.
 */
export function createConnectHandler(options: ConnectHandlerOptions): (req: NodeRequest, res: NodeResponse) => boolean {
  const router = createConnectRouter({
    grpc: false, // real gRPC is on the gRPC port (grpc-js, faster)
    readMaxBytes: options.maxRequestBytes,
    acceptCompression: [compressionGzip, compressionBrotli],
  });
  const routes = new Map<string, { scope: Scope; recorder?: RpcRecorder; fullName: string }>();
  for (const registration of options.services) {
    const implementation: Record<string, (request: never, ctx: HandlerContext) => Promise<unknown>> = {};
    for (const method of registration.service.methods) {
      const fullName = `/${registration.service.typeName}/${method.name}`;
      const handler = registration.handlers[method.localName]!;
      const recorder = options.metrics?.rpc(registration.service.typeName, method.name, "connect");
      routes.set(fullName, { scope: registration.scopes[method.localName]!, recorder, fullName });
      const record = (state: CallState, code: string) => {
        state.recorded = true;
        recorder?.finished(code, (performance.now() - state.started) / 1000);
      };
      implementation[method.localName] = async (request, ctx) => {
        const state = ctx.values.get(CALL_STATE)!;
        try {
          if (!options.isOpen()) throw new StartingError();
          refuseNulCharacters(method.input, request);
          const context: CallContext = { method: fullName, principal: state.principal, metadata: toMetadata(ctx.requestHeader) };
          const response = await runInTrace(ctx.requestHeader.get(TRACEPARENT_HEADER) ?? undefined, () => handler(request, context));
          record(state, "OK");
          return response;
        } catch (err) {
          const error = toConnectError(normalizeRpcError(err, options.logger, fullName));
          record(state, grpcCodeName(error.code));
          throw error;
        }
      };
    }
    router.service(registration.service, implementation as never);
  }
  const handlers = new Map(router.handlers.map((h) => [h.requestPath, h]));

  return (req, res) => {
    const path = req.url?.split("?", 2)[0] ?? "";
    const handler = handlers.get(path);
    const route = routes.get(path);
    if (!handler || !route) return false;
    const grpcWeb = /^application\/grpc-web/.test(req.headers["content-type"] ?? "");
    let state: CallState;
    try {
      state = { principal: authorize(req.headers.authorization, options.apiKeys, route.scope, route.fullName), started: performance.now() };
    } catch (err) {
      const error = toConnectError(normalizeRpcError(err, options.logger, route.fullName));
      route.recorder?.finished(grpcCodeName(error.code), 0);
      refuse(res, error, grpcWeb);
      return true;
    }
    const uReq = universalRequestFromNodeRequest(req, res, undefined, createContextValues().set(CALL_STATE, state));
    handler(uReq)
      .then((uRes) => {
        if (!state.recorded) {
          // Failures before the handler (undecodable or oversized body) are connect-es's own: the
          // Connect protocol says which by HTTP status; gRPC-Web hides it in the body's trailer.
          const code = grpcWeb ? "UNKNOWN" : grpcCodeName(uRes.status === 200 ? 0 : codeFromHttpStatus(uRes.status));
          route.recorder?.finished(code, (performance.now() - state.started) / 1000);
        }
        return universalResponseToNodeResponse(uRes, res);
      })
      .catch((err: unknown) => {
        if (ConnectError.from(err).code !== Code.Aborted) options.logger.warn("connect response failed", { method: route.fullName, err });
      });
    return true;
  };
}

/** Answers a refused call in its own protocol without reading its body. */
function refuse(res: NodeResponse, error: ConnectError, grpcWeb: boolean): void {
  if (grpcWeb) {
    const trailer = new Headers();
    setTrailerStatus(trailer, error);
    res.writeHead(200, { "content-type": "application/grpc-web+proto" });
    res.end(encodeEnvelope(trailerFlag, trailerSerialize(trailer)));
    return;
  }
  const headers: Record<string, string> = { "content-type": "application/json" };
  error.metadata.forEach((value, key) => (headers[key] = value));
  res.writeHead(codeToHttpStatus(error.code), headers);
  res.end(errorToJsonBytes(error, {}));
}

function toMetadata(headers: Headers): grpc.Metadata {
  const metadata = new grpc.Metadata();
  headers.forEach((value, key) => {
    if (!key.endsWith("-bin") && !key.startsWith(":")) metadata.set(key, value);
  });
  return metadata;
}

function refuseNulCharacters(schema: DescMessage, request: unknown): void {
  const field = findNulCharacter(schema, request);
  if (field) {
    throw new TallyError(Code.InvalidArgument, "malformed_request", `${field}: contains U+0000, which no string field may hold`, [
      { field, code: "nul_character", message: "contains U+0000, which no string field may hold" },
    ]);
  }
}

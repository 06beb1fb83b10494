import * as path from "node:path";
import { runInTrace, TRACEPARENT_HEADER } from "../logging/trace-context";
import * as grpc from "@grpc/grpc-js";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { HealthImplementation } from "grpc-health-check";
import type { Logger } from "../logging/logger";
import { Code, TallyError } from "../errors/errors";
import type { ApiKeys, Principal, Scope } from "./api-keys";
import { authorizationInterceptor, type Doorkeeper, type ServiceStatus } from "./authorization";
import type { CallContext } from "./call-context";
import { decodeRequest, MessageTooLargeError } from "./request-decoding";
import { grpcServiceDefinition, type RequestDecoders, type ServiceHandlers } from "./service-definition";
import { encodeStatusDetails } from "./status-details";
import { grpcCodeName, normalizeRpcError } from "./rpc-errors";
import type { RpcRecorder, ServiceMetrics } from "../metrics/service-metrics";
import { addReflection } from "./reflection";
import { admits, LoopLag, ServerOverloadedError, type AdmissionOptions } from "./admission";

/** A service, its handlers and the scope each rpc requires (every rpc must say). */
export interface ServiceRegistration<S extends GenService<GenServiceMethods>> {
  service: S;
  handlers: ServiceHandlers<S>;
  scopes: { [K in keyof S["method"]]: Scope };
  /** Hand-written request decoders for hot rpcs (see {@link RequestDecoders}). */
  decoders?: RequestDecoders<S>;
}

export type AnyRegistration = ServiceRegistration<GenService<GenServiceMethods>>;

/** Keeps each registration's own method types while letting a list hold several. */
export function serviceRegistration<S extends GenService<GenServiceMethods>>(reg: ServiceRegistration<S>): AnyRegistration {
  return reg as unknown as AnyRegistration;
}

export interface GrpcServerOptions {
  /** `host:port`; port 0 picks a free one. */
  address: string;
  services: AnyRegistration[];
  apiKeys: ApiKeys;
  logger: Logger;
  /** Largest request body accepted, in bytes (default {@link DEFAULT_MAX_REQUEST_BYTES}). */
  maxRequestBytes?: number;
  /**
   * Start answering rpcs only when `open()` is called (until then: UNAVAILABLE, health
   * NOT_SERVING). A service waiting for its database at start uses this.
   */
  startClosed?: boolean;
  /** Where each call's count and latency go (`tally_rpc_*`, protocol `grpc`). */
  metrics?: ServiceMetrics;
  /** Refuse calls the server cannot serve in time, at its door (see {@link AdmissionOptions}); none when absent. */
  admission?: AdmissionOptions;
}

/** The gRPC default, enough for every rpc but batched ingest (which sets its own). */
export const DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024;

export interface RunningGrpcServer {
  port: number;
  address: string;
  health: HealthImplementation;
  /** Starts answering rpcs (see {@link GrpcServerOptions.startClosed}) and reports SERVING. */
  open(): void;
  /** Reports SERVING or NOT_SERVING on grpc.health.v1 (e.g. while the database is down). */
  setServing(serving: boolean): void;
  /** Stops accepting calls, lets in-flight calls finish for up to `graceMs`, then cuts the rest. */
  shutdown(graceMs?: number): Promise<void>;
}

/** Repository `proto/` folder (for clients loading the .proto files); the same depth from `src/` and `dist/`. */
export const DEFAULT_PROTO_ROOT = path.resolve(__dirname, "../../../../proto");

/**
 * Serves real gRPC over HTTP/2 with grpc-js (measured 2–3× faster than
 * connect-node here), plus grpc.health.v1 and grpc.reflection.v1 so grpcurl
 * and `buf curl` can list and call everything. Every rpc is authenticated.
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
  const maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  const principals = new WeakMap<grpc.Metadata, Principal>();
  const scopes = new Map<string, Scope>();
  const recorders = new Map<string, RpcRecorder>();
  for (const { service, scopes: byMethod } of options.services) {
    for (const method of service.methods) {
      const path = `/${service.typeName}/${method.name}`;
      scopes.set(path, byMethod[method.localName]!);
      if (options.metrics) recorders.set(path, options.metrics.rpc(service.typeName, method.name, "grpc"));
    }
  }
  const refuse = (err: unknown, method: string) => {
    const status = toServiceStatus(err, options.logger, method);
    // Refused before the body was read: counted, with no meaningful latency to observe.
    recorders.get(method)?.finished(grpcCodeName(status.code), 0);
    return status;
  };
  const lag = options.admission && new LoopLag().start();
  const doorkeeper = options.admission && lag && doorkeeperOf(options.admission, lag, refuse);
  const server = new grpc.Server({
    // grpc-js refuses bodies over this before reading them, with a bare RESOURCE_EXHAUSTED.
    // Twice the limit, so that a body just over it reaches the handler, which answers
    // with the limit in an ErrorDetail; only far larger ones get the bare status.
    "grpc.max_receive_message_length": 2 * maxRequestBytes,
    "grpc.keepalive_permit_without_calls": 1,
    interceptors: [authorizationInterceptor(scopes, options.apiKeys, principals, refuse, doorkeeper)],
  });
  const health = new HealthImplementation({ "": "NOT_SERVING" });
  health.addToServer(server);
  const state = { open: !options.startClosed, serving: false, shuttingDown: false };
  const setServing = (serving: boolean) => {
    state.serving = serving;
    const status = serving && state.open && !state.shuttingDown ? "SERVING" : "NOT_SERVING";
    health.setStatus("", status);
    for (const { service } of options.services) health.setStatus(service.typeName, status);
  };
  for (const registration of options.services) {
    server.addService(grpcServiceDefinition(registration.service), implementation(registration, options, { principals, maxRequestBytes, state, recorders }));
  }
  setServing(true);
  addReflection(server, options.services.map((registration) => registration.service));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(options.address, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  const host = options.address.slice(0, options.address.lastIndexOf(":"));
  return {
    port,
    address: `${host}:${port}`,
    health,
    open: () => {
      state.open = true;
      setServing(state.serving);
    },
    setServing,
    shutdown: (graceMs = 10_000) => {
      state.shuttingDown = true; // a late database-watch report must not say SERVING again
      lag?.stop();
      return shutdown(server, health, options.services, graceMs);
    },
  };
}

/** Admission at the door: the loop's lag and the call's deadline (its `grpc-timeout`), read per call without allocating. */
function doorkeeperOf(admission: AdmissionOptions, lag: LoopLag, refuse: (err: unknown, method: string) => ServiceStatus): Doorkeeper {
  const overloaded = new ServerOverloadedError();
  return {
    admits: (call) => {
      const deadline = call.getDeadline();
      return admits(admission, lag.current(), deadline instanceof Date ? deadline.getTime() : deadline, Date.now());
    },
    refuse: (method) => {
      admission.onShed?.(method);
      return refuse(overloaded, method);
    },
  };
}

function shutdown(server: grpc.Server, health: HealthImplementation, services: AnyRegistration[], graceMs: number): Promise<void> {
  health.setStatus("", "NOT_SERVING");
  for (const { service } of services) health.setStatus(service.typeName, "NOT_SERVING");
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

interface ServerState {
  principals: WeakMap<grpc.Metadata, Principal>;
  maxRequestBytes: number;
  state: { open: boolean };
  recorders: ReadonlyMap<string, RpcRecorder>;
}

function implementation(registration: AnyRegistration, options: GrpcServerOptions, server: ServerState): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const method of registration.service.methods) {
    const name = method.localName;
    const fullName = `/${registration.service.typeName}/${method.name}`;
    const handler = registration.handlers[name];
    const scope = registration.scopes[name];
    const decode = registration.decoders?.[name];
    if (!handler || !scope) throw new Error(`${fullName} has no handler or no scope`);
    const recorder = server.recorders.get(fullName);
    impl[name] = (call: grpc.ServerUnaryCall<Buffer, unknown>, done: grpc.sendUnaryData<unknown>) => {
      const started = performance.now();
      const callback: grpc.sendUnaryData<unknown> = recorder
        ? (err, response) => {
            recorder.finished(err ? grpcCodeName(err.code ?? Code.Unknown) : "OK", (performance.now() - started) / 1000);
            done(err, response);
          }
        : done;
      const fail = (err: unknown) => callback(toServiceStatus(err, options.logger, fullName));
      if (!server.state.open) return fail(new StartingError());
      const principal = server.principals.get(call.metadata);
      // The interceptor authorizes every call to a registered path before this runs.
      if (!principal) return fail(new Error(`${fullName}: no principal; the authorization interceptor did not run`));
      const bytes = call.request;
      let request: unknown;
      try {
        if (bytes.length > server.maxRequestBytes) throw new MessageTooLargeError(bytes.length, server.maxRequestBytes);
        request = decodeRequest(method.input, bytes, decode);
      } catch (err) {
        return fail(err);
      }
      const context: CallContext = { method: fullName, principal, metadata: call.metadata };
      const traceparent = call.metadata.get(TRACEPARENT_HEADER)[0];
      runInTrace(typeof traceparent === "string" ? traceparent : undefined, () => handler(request as never, context)).then((response) => callback(null, response), fail);
    };
  }
  return impl;
}

/** Calls that arrive while the service is still waiting for its database at start. */
export class StartingError extends TallyError {
  constructor() {
    super(Code.Unavailable, "starting", "the service is starting (waiting for its database); retry with backoff");
  }
}

/** Maps any thrown value to a gRPC status with an ErrorDetail (see {@link normalizeRpcError}). */
function toServiceStatus(thrown: unknown, logger: Logger, method: string): ServiceStatus {
  const metadata = new grpc.Metadata();
  const err = normalizeRpcError(thrown, logger, method);
  if (err instanceof TallyError) {
    metadata.set("tally-error-reason", err.reason);
    if (err.violations[0]) metadata.set("tally-error-field", err.violations[0].field);
    metadata.set("grpc-status-details-bin", encodeStatusDetails(err.code, err));
    return { code: err.code as number, details: err.message, metadata };
  }
  return { code: err.code as number, details: err.rawMessage, metadata };
}

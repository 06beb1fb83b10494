import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { HealthImplementation } from "grpc-health-check";
import { ConnectError } from "@connectrpc/connect";
import type { Logger } from "../logging/logger";
import { Code, PermissionDeniedError, TallyError, UnauthenticatedError } from "../errors/errors";
import type { ApiKeys, Scope } from "./api-keys";
import type { CallContext } from "./call-context";
import { grpcServiceDefinition, type RequestDecoders, type ServiceHandlers } from "./service-definition";
import { encodeStatusDetails } from "./status-details";
import { addReflection } from "./reflection";

/** A service, its handlers and the scope each rpc requires (every rpc must say). */
export interface ServiceRegistration<S extends GenService<GenServiceMethods>> {
  service: S;
  handlers: ServiceHandlers<S>;
  scopes: { [K in keyof S["method"]]: Scope };
  /** Hand-written request decoders for hot rpcs (see {@link RequestDecoders}). */
  decoders?: RequestDecoders<S>;
}

type AnyRegistration = ServiceRegistration<GenService<GenServiceMethods>>;

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
}

export interface RunningGrpcServer {
  port: number;
  address: string;
  health: HealthImplementation;
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
  const server = new grpc.Server({
    "grpc.max_receive_message_length": 32 * 1024 * 1024,
    "grpc.keepalive_permit_without_calls": 1,
  });
  const health = new HealthImplementation({ "": "SERVING" });
  health.addToServer(server);
  for (const registration of options.services) {
    server.addService(grpcServiceDefinition(registration.service, registration.decoders), implementation(registration, options));
    health.setStatus(registration.service.typeName, "SERVING");
  }
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
    shutdown: (graceMs = 10_000) => shutdown(server, health, options.services, graceMs),
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

function implementation(registration: AnyRegistration, options: GrpcServerOptions): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const method of registration.service.methods) {
    const name = method.localName;
    const fullName = `/${registration.service.typeName}/${method.name}`;
    const handler = registration.handlers[name];
    const scope = registration.scopes[name];
    if (!handler || !scope) throw new Error(`${fullName} has no handler or no scope`);
    impl[name] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      let context: CallContext;
      try {
        context = { method: fullName, principal: authorize(call.metadata, options.apiKeys, scope, fullName), metadata: call.metadata };
      } catch (err) {
        callback(toServiceError(err, options.logger, fullName));
        return;
      }
      handler(call.request as never, context).then(
        (response) => callback(null, response),
        (err: unknown) => callback(toServiceError(err, options.logger, fullName)),
      );
    };
  }
  return impl;
}

function authorize(metadata: grpc.Metadata, apiKeys: ApiKeys, scope: Scope, method: string) {
  const header = metadata.get("authorization")[0];
  const match = typeof header === "string" ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  const principal = match?.[1] ? apiKeys.authenticate(match[1]) : undefined;
  if (!principal) throw new UnauthenticatedError();
  if (!principal.scopes.has(scope)) throw new PermissionDeniedError(scope, method);
  return principal;
}

/** Maps any thrown value to a gRPC status; unexpected errors are logged and hidden. */
function toServiceError(err: unknown, logger: Logger, method: string): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  if (err instanceof TallyError) {
    metadata.set("tally-error-reason", err.reason);
    if (err.violations[0]) metadata.set("tally-error-field", err.violations[0].field);
    metadata.set("grpc-status-details-bin", encodeStatusDetails(err.code, err));
    return { code: err.code as number, details: err.message, metadata };
  }
  if (err instanceof ConnectError) return { code: err.code as number, details: err.rawMessage, metadata };
  logger.error("unhandled error in rpc", { method, err });
  return { code: Code.Internal as number, details: "internal error", metadata };
}

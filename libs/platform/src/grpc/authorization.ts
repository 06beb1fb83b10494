import * as grpc from "@grpc/grpc-js";
import { PermissionDeniedError, UnauthenticatedError } from "../errors/errors";
import type { ApiKeys, Principal, Scope } from "./api-keys";

/** A status a call ends with, trailers included. */
export interface ServiceStatus {
  code: grpc.status;
  details: string;
  metadata: grpc.Metadata;
}

/** The server's admission control, asked once a call is authorized (see admission.ts). */
export interface Doorkeeper {
  admits(call: grpc.ServerInterceptingCallInterface): boolean;
  /** The status a refused call ends with (counted by the caller of this). */
  refuse(method: string): ServiceStatus;
}

/**
 * Checks the caller's key from the call's metadata as soon as the headers arrive, before the
 * server reads or decodes the body: a caller without a valid key costs no parsing (the body
 * may be megabytes). Calls to paths without a scope (health, reflection) pass untouched.
 * The principal is handed to the handler through `principals`, keyed by the call's metadata.
 * With a `doorkeeper`, an authorized call the server cannot serve in time is refused here too,
 * as cheaply as a refusal gets in grpc-js (its body is never decoded, no handler runs).
 */
export function authorizationInterceptor(
  scopes: ReadonlyMap<string, Scope>,
  apiKeys: ApiKeys,
  principals: WeakMap<grpc.Metadata, Principal>,
  refuse: (err: unknown, method: string) => ServiceStatus,
  doorkeeper?: Doorkeeper,
): grpc.ServerInterceptor {
  return (method, call) => {
    const scope = scopes.get(method.path);
    if (!scope) return new grpc.ServerInterceptingCall(call);
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, proceed) => {
            let principal: Principal;
            try {
              principal = authorize(metadata.get("authorization")[0], apiKeys, scope, method.path);
            } catch (err) {
              call.sendStatus(refuse(err, method.path));
              return;
            }
            if (doorkeeper && !doorkeeper.admits(call)) {
              call.sendStatus(doorkeeper.refuse(method.path));
              return;
            }
            principals.set(metadata, principal);
            proceed(metadata);
          },
        }),
    });
  };
}

/** The caller behind an `authorization: Bearer <key>` header, if its key has `scope`; throws otherwise. */
export function authorize(header: unknown, apiKeys: ApiKeys, scope: Scope, method: string): Principal {
  const match = typeof header === "string" ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  const principal = match?.[1] ? apiKeys.authenticate(match[1]) : undefined;
  if (!principal) throw new UnauthenticatedError();
  if (!principal.scopes.has(scope)) throw new PermissionDeniedError(scope, method);
  return principal;
}

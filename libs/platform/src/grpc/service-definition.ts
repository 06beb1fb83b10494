import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMethod, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import type { CallContext } from "./call-context";

/** The implementation of a generated service: one async function per unary rpc. */
export type ServiceHandlers<S extends GenService<GenServiceMethods>> = {
  [K in keyof S["method"]]: (
    request: MessageShape<S["method"][K]["input"]>,
    context: CallContext,
  ) => Promise<MessageInitShape<S["method"][K]["output"]>>;
};

/**
 * Hand-written request decoders for hot rpcs, by method, used instead of protobuf-es
 * `fromBinary` (which decodes by reflection). Each must build exactly what `fromBinary` would
 * (unknown fields aside), throw on whatever `fromBinary` refuses (invalid UTF-8 included) and on
 * U+0000 in a string (Postgres cannot store it; the generic path refuses it too); its service tests
 * it against `fromBinary`. On a throw, the server names the bad field for the caller.
 */
export type RequestDecoders<S extends GenService<GenServiceMethods>> = {
  [K in keyof S["method"]]?: (bytes: Uint8Array) => MessageShape<S["method"][K]["input"]>;
};

/**
 * Builds a grpc-js service definition straight from a protobuf-es descriptor,
 * so the fast grpc-js server speaks our generated types and no second code
 * generator is needed. Requests reach the handler as raw bytes: the server
 * decodes them itself, after authorizing the caller, so that a malformed body
 * is INVALID_ARGUMENT naming the field rather than grpc-js's bare INTERNAL.
 */
export function grpcServiceDefinition(service: DescService): ServiceDefinition {
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    if (method.methodKind !== "unary") {
      throw new Error(`${service.typeName}.${method.name}: only unary rpcs are supported`);
    }
    definition[method.localName] = unaryDefinition(service, method);
  }
  return definition as ServiceDefinition;
}

function unaryDefinition(service: DescService, method: DescMethod): MethodDefinition<unknown, unknown> {
  const { input, output } = method;
  return {
    path: `/${service.typeName}/${method.name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (message) => Buffer.from(toBinary(input, message as MessageShape<typeof input>)),
    requestDeserialize: (bytes: Buffer) => bytes,
    responseSerialize: (message) => Buffer.from(toBinary(output, create(output, message as MessageInitShape<typeof output>))),
    responseDeserialize: (bytes: Buffer) => fromBinary(output, bytes),
    originalName: method.localName,
  };
}

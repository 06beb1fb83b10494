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
 * (unknown fields aside) and throw on malformed input; its service tests it against `fromBinary`.
 */
export type RequestDecoders<S extends GenService<GenServiceMethods>> = {
  [K in keyof S["method"]]?: (bytes: Uint8Array) => MessageShape<S["method"][K]["input"]>;
};

/**
 * Builds a grpc-js service definition straight from a protobuf-es descriptor,
 * so the fast grpc-js server speaks our generated types and no second code
 * generator is needed.
 */
export function grpcServiceDefinition(
  service: DescService,
  decoders: Partial<Record<string, (bytes: Uint8Array) => unknown>> = {},
): ServiceDefinition {
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    if (method.methodKind !== "unary") {
      throw new Error(`${service.typeName}.${method.name}: only unary rpcs are supported`);
    }
    definition[method.localName] = unaryDefinition(service, method, decoders[method.localName]);
  }
  return definition as ServiceDefinition;
}

function unaryDefinition(service: DescService, method: DescMethod, decode?: (bytes: Uint8Array) => unknown): MethodDefinition<unknown, unknown> {
  const { input, output } = method;
  return {
    path: `/${service.typeName}/${method.name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (message) => Buffer.from(toBinary(input, message as MessageShape<typeof input>)),
    requestDeserialize: decode ?? ((bytes: Buffer) => fromBinary(input, bytes)),
    responseSerialize: (message) => Buffer.from(toBinary(output, create(output, message as MessageInitShape<typeof output>))),
    responseDeserialize: (bytes: Buffer) => fromBinary(output, bytes),
    originalName: method.localName,
  };
}

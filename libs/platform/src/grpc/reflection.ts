import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { toBinary, type DescFile, type DescService } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";

/**
 * grpc.reflection.v1 (and v1alpha, for older grpcurl) served from the
 * protobuf-es descriptors the services were built from, so reflection
 * returns the real .proto files with their real names and imports.
 * (@grpc/reflection synthesises one file per package without imports, which
 * `buf curl` and grpcurl cannot resolve.)
 */
export function addReflection(server: grpc.Server, services: DescService[]): void {
  const index = indexFiles(services);
  const definition = protoLoader.loadSync(
    ["grpc/reflection/v1/reflection.proto", "grpc/reflection/v1alpha/reflection.proto"],
    { includeDirs: [path.join(path.dirname(require.resolve("@grpc/reflection/package.json")), "build/proto")] },
  );
  for (const name of ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]) {
    const service = definition[name] as grpc.ServiceDefinition;
    server.addService(service, { ServerReflectionInfo: (call: grpc.ServerDuplexStream<ReflectionRequest, unknown>) => answer(call, index) });
  }
}

interface ReflectionRequest {
  host?: string;
  fileByFilename?: string;
  fileContainingSymbol?: string;
  fileContainingExtension?: unknown;
  allExtensionNumbersOfType?: string;
  listServices?: string;
}

interface FileIndex {
  services: string[];
  byName: Map<string, DescFile>;
  bySymbol: Map<string, DescFile>;
}

function answer(call: grpc.ServerDuplexStream<ReflectionRequest, unknown>, index: FileIndex): void {
  call.on("data", (request: ReflectionRequest) => {
    const base = { validHost: request.host ?? "", originalRequest: request };
    if (request.listServices !== undefined) {
      call.write({ ...base, listServicesResponse: { service: index.services.map((name) => ({ name })) } });
      return;
    }
    const file =
      request.fileByFilename !== undefined ? index.byName.get(request.fileByFilename)
      : request.fileContainingSymbol !== undefined ? index.bySymbol.get(request.fileContainingSymbol)
      : undefined;
    if (file) {
      call.write({ ...base, fileDescriptorResponse: { fileDescriptorProto: withDependencies(file).map(encode) } });
    } else {
      call.write({ ...base, errorResponse: { errorCode: grpc.status.NOT_FOUND, errorMessage: "not found" } });
    }
  });
  call.on("end", () => call.end());
}

function indexFiles(services: DescService[]): FileIndex {
  const byName = new Map<string, DescFile>();
  const bySymbol = new Map<string, DescFile>();
  const visit = (file: DescFile) => {
    if (byName.has(file.proto.name)) return;
    byName.set(file.proto.name, file);
    for (const type of nestedTypes(file)) bySymbol.set(type.typeName, file);
    for (const service of file.services) {
      for (const method of service.methods) bySymbol.set(`${service.typeName}.${method.name}`, file);
    }
    file.dependencies.forEach(visit);
  };
  for (const service of services) visit(service.file);
  return { services: services.map((s) => s.typeName), byName, bySymbol };
}

/** The file first, then everything it imports, transitively (the protocol allows sending all at once). */
function withDependencies(file: DescFile): DescFile[] {
  const seen = new Map<string, DescFile>();
  const visit = (f: DescFile) => {
    if (seen.has(f.proto.name)) return;
    seen.set(f.proto.name, f);
    f.dependencies.forEach(visit);
  };
  visit(file);
  return [...seen.values()];
}

function encode(file: DescFile): Buffer {
  return Buffer.from(toBinary(FileDescriptorProtoSchema, file.proto));
}

import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ConnectError, Code as ConnectCode } from "@connectrpc/connect";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { common, metering } from "@tally/contracts";
import { createLogger } from "../logging/logger";
import { InvalidArgumentError } from "../errors/errors";
import { createTestClient } from "../testing/grpc-client";
import { rawCall, rawClient } from "../testing/raw-call";
import { checkHealth } from "../testing/health-check";
import { TEST_API_KEYS, TEST_KEYS } from "../testing/test-keys";
import { parseApiKeys } from "./api-keys";
import { DEFAULT_PROTO_ROOT, serviceRegistration, startGrpcServer, type RunningGrpcServer } from "./server";
import type { ServiceHandlers } from "./service-definition";

const notUsed = () => Promise.reject(new Error("not used in this test"));

/** A Meter whose Record answers from the request alone: enough to exercise the transport. */
const handlers: ServiceHandlers<typeof metering.Meter> = {
  record: async ({ event }) => {
    if (!event?.id) throw new InvalidArgumentError({ field: "event.id", message: "is required" });
    return { result: { eventId: event.id, status: metering.EventStatus.ACCEPTED } };
  },
  recordBatch: notUsed,
  createMeter: notUsed,
  getMeter: async () => {
    throw adminShutdown;
  },
  listMeters: async () => {
    throw new Error("Connection terminated unexpectedly");
  },
  archiveMeter: notUsed,
  queryUsage: async () => {
    throw new Error("database exploded with secret details");
  },
};

/** What node-postgres throws when the server is restarted under a query. */
const adminShutdown = Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" });


type GrpcMeterClient = grpc.Client & Record<string, (req: unknown, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void>;

describe("gRPC server", () => {
  let server: RunningGrpcServer;
  let meterClient: GrpcMeterClient;
  let raw: grpc.Client;

  beforeAll(async () => {
    server = await startGrpcServer({
      address: "127.0.0.1:0",
      services: [
        serviceRegistration({
          service: metering.Meter,
          handlers,
          scopes: { record: "ingest", recordBatch: "ingest", createMeter: "admin", getMeter: "read", listMeters: "read", archiveMeter: "admin", queryUsage: "read" },
        }),
      ],
      apiKeys: parseApiKeys(TEST_API_KEYS),
      logger: createLogger({}, "silent"),
      maxRequestBytes: 64 * 1024,
    });
    raw = rawClient(server.address);
    // A client generated at run time from the .proto files, as another team would.
    const definition = protoLoader.loadSync("tally/metering/v1/meter.proto", { includeDirs: [DEFAULT_PROTO_ROOT], enums: String });
    const Meter = (grpc.loadPackageDefinition(definition) as any).tally.metering.v1.Meter as grpc.ServiceClientConstructor;
    meterClient = new Meter(server.address, grpc.credentials.createInsecure()) as unknown as GrpcMeterClient;
  });

  afterAll(async () => {
    meterClient.close();
    raw.close();
    await server.shutdown(100);
  });

  function call(method: string, request: unknown, key?: string): Promise<{ err: grpc.ServiceError | null; res: any }> {
    const md = new grpc.Metadata();
    if (key) md.set("authorization", `Bearer ${key}`);
    return new Promise((resolve) => meterClient[method]!(request, md, (err, res) => resolve({ err, res })));
  }

  it("serves a proto-loader grpc-js client with the ingest scope", async () => {
    const { err, res } = await call("Record", { event: { id: "evt-1", customerId: "c" } }, TEST_KEYS.ingest);
    expect(err).toBeNull();
    expect(res.result).toMatchObject({ eventId: "evt-1", status: "EVENT_STATUS_ACCEPTED" });
  });

  it("rejects a call without a key as UNAUTHENTICATED", async () => {
    const { err } = await call("Record", { event: { id: "evt-1" } });
    expect(err?.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it("rejects an unknown key as UNAUTHENTICATED", async () => {
    const { err } = await call("Record", { event: { id: "evt-1" } }, "not_a_real_key_0123456789");
    expect(err?.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it("rejects a key without the rpc's scope as PERMISSION_DENIED", async () => {
    const { err } = await call("Record", { event: { id: "evt-1" } }, TEST_KEYS.read);
    expect(err?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(err?.details).toBe('/tally.metering.v1.Meter/Record requires the "ingest" scope');
  });

  it("maps domain errors to their status with the field in message and trailers", async () => {
    const { err } = await call("Record", { event: {} }, TEST_KEYS.ingest);
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err?.details).toBe("event.id: is required");
    expect(err?.metadata.get("tally-error-field")).toEqual(["event.id"]);
  });

  it("hides unexpected errors behind INTERNAL", async () => {
    const { err } = await call("QueryUsage", {}, TEST_KEYS.read);
    expect(err?.code).toBe(grpc.status.INTERNAL);
    expect(err?.details).toBe("internal error");
  });

  const RECORD = "/tally.metering.v1.Meter/Record";
  const GET_METER = "/tally.metering.v1.Meter/GetMeter";

  it("refuses a caller without a key before decoding its body", async () => {
    // Garbage that would fail to decode: UNAUTHENTICATED proves the key was checked first.
    expect(await rawCall(raw, RECORD, Uint8Array.from([0xff, 0xff, 0xff]))).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    expect(await rawCall(raw, RECORD, Uint8Array.from([0xff]), "not_a_real_key_0123456789")).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    expect(await rawCall(raw, RECORD, Uint8Array.from([0xff]), TEST_KEYS.read)).toMatchObject({ code: grpc.status.PERMISSION_DENIED });
  });

  it("answers an undecodable body with INVALID_ARGUMENT and an ErrorDetail, never INTERNAL", async () => {
    const truncated = await rawCall(raw, RECORD, Uint8Array.from([0x0a, 0x05, 0x0a]), TEST_KEYS.ingest);
    expect(truncated.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(truncated.detail?.code).toBe("malformed_request");
    expect(truncated.detail?.fieldViolations[0]?.field).toBe("event");
    const fieldZero = await rawCall(raw, RECORD, Uint8Array.from([0x02, 0x00]), TEST_KEYS.ingest);
    expect(fieldZero).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("field no 0") });
  });

  it("rejects a string that is not UTF-8 with INVALID_ARGUMENT naming the field", async () => {
    // GetMeterRequest{key: "tok\xff"}: no meter may be looked up under a mangled key.
    const res = await rawCall(raw, GET_METER, Uint8Array.from([0x0a, 0x04, 0x74, 0x6f, 0x6b, 0xff]), TEST_KEYS.read);
    expect(res.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(res.detail?.fieldViolations.map((v) => [v.field, v.code])).toEqual([["key", "invalid_utf8"]]);
    // Nested and in a map: UsageEvent.properties of a Record.
    const entry = [0x0a, 0x01, 0x6b, 0x12, 0x02, 0xc3, 0x28];
    const event = [0x0a, 0x01, 0x65, 0x2a, entry.length, ...entry];
    const nested = await rawCall(raw, RECORD, Uint8Array.from([0x0a, event.length, ...event]), TEST_KEYS.ingest);
    expect(nested.detail?.fieldViolations.map((v) => [v.field, v.code])).toEqual([["event.properties[k]", "invalid_utf8"]]);
  });

  it("answers a body over the maximum message size with RESOURCE_EXHAUSTED and the limit in an ErrorDetail", async () => {
    const big = new Uint8Array(64 * 1024 + 100);
    const res = await rawCall(raw, RECORD, big, TEST_KEYS.ingest);
    expect(res.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(res.detail?.code).toBe("message_too_large");
    expect(res.detail?.metadata).toEqual({ max_bytes: String(64 * 1024), request_bytes: String(big.length) });
  });

  it("answers a lost database connection with UNAVAILABLE, not INTERNAL", async () => {
    for (const method of ["GetMeter", "ListMeters"]) {
      const { err } = await call(method, {}, TEST_KEYS.admin);
      expect(err?.code).toBe(grpc.status.UNAVAILABLE);
      expect(err?.metadata.get("tally-error-reason")).toEqual(["database_unavailable"]);
    }
  });

  it("serves a Connect client over gRPC with generated types", async () => {
    const { client, close } = createTestClient(metering.Meter, server.address, TEST_KEYS.all);
    try {
      const res = await client.record({ event: { id: "evt-2" } });
      expect(res.result?.status).toBe(metering.EventStatus.ACCEPTED);
      await expect(createTestClient(metering.Meter, server.address).client.record({ event: { id: "x" } })).rejects.toMatchObject({
        code: ConnectCode.Unauthenticated,
      });
      const invalid = await client.record({ event: {} }).catch((err: unknown) => ConnectError.from(err));
      expect(invalid).toBeInstanceOf(ConnectError);
      const [detail] = (invalid as ConnectError).findDetails(common.ErrorDetailSchema);
      expect(detail?.code).toBe("invalid_argument");
      expect(detail?.fieldViolations.map((v) => [v.field, v.description])).toEqual([["event.id", "is required"]]);
    } finally {
      close();
    }
  });

  it("answers grpc.health.v1 without a key", async () => {
    expect(await checkHealth(server.address, "tally.metering.v1.Meter")).toBe("SERVING");
    expect(await checkHealth(server.address)).toBe("SERVING");
  });

  it("serves grpc.reflection.v1 with the real .proto files and their imports", async () => {
    const reflectionProto = path.join(path.dirname(require.resolve("@grpc/reflection/package.json")), "build/proto/grpc/reflection/v1/reflection.proto");
    const def = protoLoader.loadSync(reflectionProto);
    const Reflection = (grpc.loadPackageDefinition(def) as any).grpc.reflection.v1.ServerReflection as grpc.ServiceClientConstructor;
    const reflection = new Reflection(server.address, grpc.credentials.createInsecure()) as any;
    const ask = (request: object) =>
      new Promise<any>((resolve, reject) => {
        const stream = reflection.ServerReflectionInfo();
        stream.on("data", (response: unknown) => {
          resolve(response);
          stream.end();
        });
        stream.on("error", reject);
        stream.write(request);
      });
    try {
      const listed = await ask({ listServices: "" });
      expect(listed.listServicesResponse.service.map((s: { name: string }) => s.name)).toEqual(["tally.metering.v1.Meter"]);

      const found = await ask({ fileContainingSymbol: "tally.metering.v1.Meter" });
      const files = found.fileDescriptorResponse.fileDescriptorProto.map((bytes: Buffer) => fromBinary(FileDescriptorProtoSchema, bytes));
      expect(files[0].name).toBe("tally/metering/v1/meter.proto");
      expect(files[0].service.map((s: { name: string }) => s.name)).toEqual(["Meter"]);
      // Every import comes along, so a client can resolve every type.
      const names = files.map((f: { name: string }) => f.name);
      for (const file of files) for (const dependency of file.dependency) expect(names).toContain(dependency);
      expect(names).toContain("google/protobuf/timestamp.proto");

      const missing = await ask({ fileContainingSymbol: "tally.nope.v1.Nothing" });
      expect(missing.errorResponse.errorCode).toBe(grpc.status.NOT_FOUND);
    } finally {
      reflection.close();
    }
  });
});

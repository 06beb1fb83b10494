import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/**
 * The Meter service as any grpc-js user would load it: straight from the .proto with
 * proto-loader (no generated code), shared by the benchmark's client and its do-nothing server.
 */
export const PROTO_ROOT = path.resolve(__dirname, "../../../proto");

export function loadMeterService(): grpc.ServiceClientConstructor {
  const definition = protoLoader.loadSync(["tally/metering/v1/meter.proto"], {
    includeDirs: [PROTO_ROOT],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    tally: { metering: { v1: { Meter: grpc.ServiceClientConstructor } } };
  };
  return pkg.tally.metering.v1.Meter;
}

type UnaryMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  callback: (err: grpc.ServiceError | null, response: unknown) => void,
) => grpc.ClientUnaryCall;

/** A dynamically loaded Meter client: one unary method per rpc, by its camelCase name. */
export type MeterClient = grpc.Client & Record<string, UnaryMethod>;

export function createMeterClient(address: string): MeterClient {
  const Meter = loadMeterService();
  return new Meter(address, grpc.credentials.createInsecure(), {
    "grpc.max_send_message_length": 32 * 1024 * 1024,
    "grpc.max_receive_message_length": 32 * 1024 * 1024,
  }) as MeterClient;
}

/** One authenticated unary call. */
export function callUnary<T>(client: MeterClient, method: string, request: unknown, apiKey: string): Promise<T> {
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${apiKey}`);
  const rpc = client[method];
  if (!rpc) return Promise.reject(new Error(`Meter has no method ${method}`));
  return new Promise((resolve, reject) => rpc.call(client, request, metadata, (err, res) => (err ? reject(err) : resolve(res as T))));
}
